"""The maze route loss with the reference's auto-curriculum, and the route metrics.

Reference: utils/losses.py maze_loss (SakanaAI/continuous-thought-machines @ aecfb63). Shapes here are batch-major
with ticks second, as the CTM returns them: predictions (B, T, L * 5) reshaped to (B, T, L, 5); targets (B, L).

  ce[b, t, i]    cross-entropy of route step i at tick t
  k[b, t]        number of leading route steps predicted correctly at tick t, at least 1 (the reference forces
                 the first step into the curriculum even when it is wrong)
  upto[b]        max_t k[b, t] - 1 + lookahead: the loss covers route steps i < upto[b], i.e. the longest correct
                 prefix over ticks and then lookahead - 1 more steps, the first of them the first wrong one (the
                 reference computes k - 1 as the argmax of the cumulative sum of the correct-prefix mask)
  loss_t[b, t]   mean of ce[b, t, i] over i < upto[b]
  loss           the CTM tick loss on loss_t: per example (loss_t[t1] + loss_t[t2]) / 2 with t1 = argmin_t loss_t
                 and t2 = argmax_t certainty (or the last tick with use_most_certain=False, the reference's
                 setting for its LSTM baseline), averaged over the batch.
"""

import jax
import jax.numpy as jnp
import optax

from common.ctm import losses as ctm_losses

NUM_MOVES = 5


def route_logits(predictions: jax.Array, route_length: int) -> jax.Array:
  """(B, T, L * 5) -> (B, T, L, 5)."""
  b, t = predictions.shape[:2]
  return predictions.reshape(b, t, route_length, NUM_MOVES)


def curriculum_upto(correct: jax.Array, lookahead: int) -> jax.Array:
  """correct (B, T, L) bool -> (B,) int32 number of route steps the loss covers (may exceed L)."""
  leading = jnp.sum(jnp.cumprod(correct.astype(jnp.int32), axis=-1), axis=-1)  # (B, T) correct prefix length
  return (jnp.max(jnp.maximum(leading, 1), axis=1) - 1 + lookahead).astype(jnp.int32)


def maze_loss(
  predictions: jax.Array,
  certainties: jax.Array,
  targets: jax.Array,
  lookahead: int = 5,
  use_most_certain: bool = True,
  weight: jax.Array | None = None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
  """The reference maze loss. predictions (B, T, L*5), certainties (B, T), targets (B, L) int.

  Returns (scalar loss, aux) with aux = {'per_tick' (B, T) curriculum-masked CE, 'upto' (B,) steps covered,
  't2' (B,) the tick read for accuracy, 'predicted' (B, T, L) argmax moves}.
  """
  route_length = targets.shape[-1]
  logits = route_logits(predictions, route_length)
  labels = jax.nn.one_hot(jnp.broadcast_to(targets[:, None], logits.shape[:-1]), NUM_MOVES, dtype=logits.dtype)
  ce = optax.softmax_cross_entropy(logits, labels)  # (B, T, L); one-hot labels: no gather/scatter on CPU
  predicted = jnp.argmax(logits, -1)
  upto = curriculum_upto(predicted == targets[:, None], lookahead)
  mask = (jnp.arange(route_length)[None] < upto[:, None]).astype(ce.dtype)  # (B, L), never empty: upto >= lookahead
  per_tick = jnp.einsum('btl,bl->bt', ce, mask) / jnp.sum(mask, -1, keepdims=True)
  loss, _, t2 = ctm_losses.tick_loss(per_tick, certainties, use_most_certain, weight)
  return loss, {'per_tick': per_tick, 'upto': upto, 't2': t2, 'predicted': predicted}


def route_accuracy(predicted: jax.Array, targets: jax.Array, tick: jax.Array) -> tuple[jax.Array, jax.Array]:
  """predicted (B, T, L) moves, targets (B, L), tick (B,) -> (step accuracy (B,), whole route correct (B,)) at tick."""
  at = jnp.take_along_axis(predicted, tick[:, None, None], 1)[:, 0]  # (B, L)
  correct = (at == targets).astype(jnp.float32)
  return correct.mean(-1), correct.min(-1)


def route_metrics(outputs, targets, lookahead: int, use_most_certain: bool, weight=None):
  """Loss and metrics of a batch of maze outputs (weighted means over examples).

  step_accuracy / route_accuracy: per-step accuracy and whole-route exactness at the tick the loss reads (the most
  certain tick, or the last with use_most_certain=False), as the reference reports them; *_last at tick T;
  route_accuracy_best: some tick has the whole route right (an oracle upper bound); selected_tick (1-based);
  curriculum_steps: mean number of route steps the auto-curriculum trains on.
  """
  loss, aux = maze_loss(outputs['predictions'], outputs['certainties'], targets, lookahead, use_most_certain, weight)
  step, route = route_accuracy(aux['predicted'], targets, aux['t2'])
  last = jnp.full_like(aux['t2'], aux['predicted'].shape[1] - 1)
  step_last, route_last = route_accuracy(aux['predicted'], targets, last)
  best = jnp.all(aux['predicted'] == targets[:, None], -1).any(-1).astype(jnp.float32)

  def mean(v):
    v = v.astype(jnp.float32)
    return jnp.mean(v) if weight is None else jnp.sum(v * weight) / jnp.maximum(jnp.sum(weight), 1.0)

  return loss, {
    'loss': loss,
    'step_accuracy': mean(step),
    'route_accuracy': mean(route),
    'step_accuracy_last': mean(step_last),
    'route_accuracy_last': mean(route_last),
    'route_accuracy_best': mean(best),
    'selected_tick': mean(aux['t2'] + 1),
    'curriculum_steps': mean(jnp.minimum(aux['upto'], targets.shape[-1])),
  }
