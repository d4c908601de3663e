"""Dynamic sparse training (prune and regrow) as an `after_step` hook of common.train.loop.train.

Every `every` steps, in every masked layer (the 'masks' collection of common/sparsity/layers.py):
  1. prune: the n = floor(f * active) active connections of smallest |w| are removed;
  2. regrow: n connections that were inactive before this round are added, the ones with the highest score:
       'random'   a uniform random score (SET, Mocanu et al. 2018);
       'hebbian'  |Pearson correlation| of the pre/post pair from the layer's 'hebbian' moving averages
                  (G2GNet's "Hebbian-inspired rewiring rule based on activation correlations": connect the units
                  that fire together), random tie-breaks (a conv's taps share their channel pair's score);
  3. a regrown weight starts at 0 (RigL's convention: the connection exists, the function is unchanged, the
     gradient then moves it); pruned weights are zeroed too.
The count of active connections of every layer is unchanged. f follows `schedule`: 'constant' (SET's zeta), or
'cosine' from drop_fraction at step 0 to 0 at end_step (RigL), and nothing changes after end_step.
Choices: a connection pruned in a round cannot regrow in the same round; Adam's moments of a regrown weight are
left as they are (masked weights get zero gradient, so they have decayed towards 0).

Runs inside the jitted train step (loop.train calls `hook(state, batch, key)` after the optimizer update, with
state['step'] already advanced); the rewiring is a lax.cond, so steps between rounds skip it. The new masks live
in state['model_state'], so they are checkpointed and a resumed run continues bitwise.
"""

import dataclasses
import math

import jax
import jax.numpy as jnp

from common.sparsity.layers import HEBBIAN, MASKS, correlation
from common.train.errors import ConfigurationError

REGROWTH = ('random', 'hebbian')
SCHEDULES = ('constant', 'cosine')


def _ranks(scores: jax.Array) -> jax.Array:
  """Rank of every entry of a flat array in ascending order (stable: equal scores keep their index order)."""
  order = jnp.argsort(scores, stable=True)
  return jnp.zeros(scores.shape, jnp.int32).at[order].set(jnp.arange(scores.size, dtype=jnp.int32))


def rewire_layer(mask: jax.Array, kernel: jax.Array, grow_score: jax.Array, num_rewire: jax.Array):
  """One prune-and-regrow round of one layer. Returns (new_mask, new_kernel).

  Args:
    mask: {0,1} float mask, the kernel's shape.
    kernel: the weights (same shape).
    grow_score: regrowth priority of every position (same shape; higher first); only inactive positions count.
    num_rewire: connections to move (traced int; at most the number of inactive positions, or the layer
      would lose connections).
  """
  shape = mask.shape
  m = mask.reshape(-1) > 0
  w = kernel.reshape(-1)
  prune_key = jnp.where(m, jnp.abs(w), jnp.inf)  # inactive positions are never pruned
  drop = m & (_ranks(prune_key) < num_rewire)
  grow_key = jnp.where(m, -jnp.inf, grow_score.reshape(-1).astype(jnp.float32))
  grow = ~m & (_ranks(-grow_key) < num_rewire)
  new_mask = (m & ~drop) | grow
  new_w = jnp.where(drop | grow, 0.0, w)
  return new_mask.astype(mask.dtype).reshape(shape), new_w.astype(kernel.dtype).reshape(shape)


def _get(tree, path):
  for p in path:
    tree = tree[p]
  return tree


def _set(tree, path, value):
  if not path:
    return value
  return {**tree, path[0]: _set(tree[path[0]], path[1:], value)}


@dataclasses.dataclass(frozen=True)
class DynamicSparsity:
  """Prune-and-regrow every `every` steps (bind as `loop.train.after_step = @dst.DynamicSparsity()`).

  Attributes:
    every: steps between rounds (SET/RigL's delta T).
    drop_fraction: fraction of each layer's active connections moved per round (at step 0 for 'cosine').
    schedule: 'constant' or 'cosine' (decays to 0 at end_step).
    end_step: last step that rewires (required for 'cosine'; None with 'constant': never stop).
    regrow: 'random' or 'hebbian' (needs the model's layers built with track_correlations=True).
    correlation_decay: the layers' moving-average decay, for the bias correction of the correlations.
  """

  every: int = 100
  drop_fraction: float = 0.3
  schedule: str = 'cosine'
  end_step: int | None = None
  regrow: str = 'random'
  correlation_decay: float = 0.99

  def __post_init__(self):
    if self.every < 1:
      raise ConfigurationError(f'DynamicSparsity.every={self.every} must be a positive number of steps.')
    if not 0.0 < self.drop_fraction < 1.0:
      raise ConfigurationError(f'DynamicSparsity.drop_fraction={self.drop_fraction} must lie in (0, 1).')
    if self.schedule not in SCHEDULES:
      raise ConfigurationError(f'DynamicSparsity.schedule={self.schedule!r} must be one of {SCHEDULES}.')
    if self.schedule == 'cosine' and (self.end_step is None or self.end_step < 1):
      raise ConfigurationError(
        f"DynamicSparsity.schedule='cosine' needs end_step >= 1 (got {self.end_step}); bind it, e.g. to "
        "%NUM_STEPS, or use schedule='constant'."
      )
    if self.regrow not in REGROWTH:
      raise ConfigurationError(f'DynamicSparsity.regrow={self.regrow!r} must be one of {REGROWTH}.')

  def fraction(self, step: jax.Array) -> jax.Array:
    """The fraction of active connections moved at `step`."""
    if self.schedule == 'constant':
      return jnp.asarray(self.drop_fraction, jnp.float32)
    progress = jnp.minimum(step, self.end_step).astype(jnp.float32) / self.end_step
    return 0.5 * self.drop_fraction * (1.0 + jnp.cos(math.pi * progress))

  def is_round(self, step: jax.Array) -> jax.Array:
    last = self.end_step if self.end_step is not None else jnp.iinfo(jnp.int32).max
    return (step > 0) & (step % self.every == 0) & (step <= last)

  def _layers(self, model_state) -> list[tuple]:
    masks = model_state.get(MASKS)
    if not masks:
      raise ConfigurationError(
        "DynamicSparsity found no 'masks' collection: the model has no masked layer. Use a model from "
        "common/sparsity/models.py with topology='random' or 'g2g' and sparsity > 0, or remove loop.train.after_step."
      )
    paths = [tuple(getattr(k, 'key', k) for k in path) for path, _ in jax.tree_util.tree_flatten_with_path(masks)[0]]
    if self.regrow == 'hebbian':
      for path in paths:
        try:
          _get(model_state[HEBBIAN], path[:-1] + ('stats',))
        except KeyError:
          raise ConfigurationError(
            f"DynamicSparsity.regrow='hebbian' needs co-activity statistics, but layer {'/'.join(path[:-1])!r} "
            'keeps none; build the model with track_correlations=True.'
          ) from None
    return paths

  def rewire(self, params, model_state, step: jax.Array, key: jax.Array):
    """One round over every masked layer: returns (params, model_state)."""
    masks = model_state[MASKS]
    for i, path in enumerate(self._layers(model_state)):
      mask, kernel = _get(masks, path), _get(params, path)
      layer_key = jax.random.fold_in(key, i)
      jitter = jax.random.uniform(layer_key, mask.shape)
      if self.regrow == 'hebbian':
        stats = _get(model_state[HEBBIAN], path[:-1] + ('stats',))
        corr = jnp.abs(correlation(stats, self.correlation_decay))
        # Channel-pair scores broadcast over a conv's taps; the jitter (< 1e-3) only breaks ties.
        score = jnp.broadcast_to(corr, mask.shape) + 1e-3 * jitter
      else:
        score = jitter
      active = jnp.sum(mask)
      num = jnp.floor(self.fraction(step) * active).astype(jnp.int32)
      num = jnp.minimum(num, (mask.size - active).astype(jnp.int32))  # never grow more than the free places
      new_mask, new_kernel = rewire_layer(mask, kernel, score, num)
      masks = _set(masks, path, new_mask)
      params = _set(params, path, new_kernel)
    return params, {**model_state, MASKS: masks}

  def __call__(self, state, batch, key):
    del batch
    step = state['step']
    self._layers(state['model_state'])  # configuration errors surface at trace time
    params, model_state = jax.lax.cond(
      self.is_round(step),
      lambda p, s: self.rewire(p, s, step, key),
      lambda p, s: (p, s),
      state['params'],
      state['model_state'],
    )
    return {**state, 'params': params, 'model_state': model_state}
