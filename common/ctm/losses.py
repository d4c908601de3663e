"""Certainty and the CTM's tick-selection loss.

certainty(t) = 1 - H(softmax y(t)) / log C, with the entropy averaged over the leading axes of
`prediction_reshaper` (e.g. the 16 positions of a parity sequence, each a 2-way softmax).

Loss (reference utils/losses.py): per example, t1 = argmin_t CE_t and t2 = argmax_t certainty_t;
loss = (mean_b CE_{b,t1} + mean_b CE_{b,t2}) / 2. With use_most_certain=False, t2 is the last tick (the
reference's setting for its LSTM baselines). Accuracy is read at t2.
"""

from typing import Sequence

import jax
import jax.numpy as jnp
import optax


def certainty(logits: jax.Array, prediction_reshaper: Sequence[int] = (-1,)) -> jax.Array:
  """(..., out_dims) logits -> (...) certainty in [0, 1]."""
  lead = logits.shape[:-1]
  y = logits.reshape(lead + tuple(prediction_reshaper))
  logp = jax.nn.log_softmax(y, axis=-1)
  entropy = -jnp.sum(jnp.exp(logp) * logp, axis=-1) / jnp.log(y.shape[-1])
  ne = entropy.reshape(lead + (-1,)).mean(-1)
  return jnp.clip(1.0 - ne, 0.0, 1.0)  # rounding can push it a hair outside [0, 1]


def per_tick_cross_entropy(
  predictions: jax.Array, targets: jax.Array, prediction_reshaper: Sequence[int] = (-1,)
) -> jax.Array:
  """predictions (B, T, out_dims), integer targets (B, *prediction_reshaper[:-1]) -> CE (B, T).

  The CE is averaged over the positions of a structured output (parity: the L cumulative-parity bits).
  """
  b, t = predictions.shape[:2]
  logits = predictions.reshape((b, t) + tuple(prediction_reshaper))
  labels = jax.nn.one_hot(jnp.broadcast_to(targets[:, None], logits.shape[:-1]), logits.shape[-1], dtype=logits.dtype)
  ce = optax.softmax_cross_entropy(logits, labels)  # one-hot, not integer labels: no gather/scatter on CPU
  return ce.reshape(b, t, -1).mean(-1)


def per_tick_accuracy(
  predictions: jax.Array, targets: jax.Array, prediction_reshaper: Sequence[int] = (-1,)
) -> jax.Array:
  """(B, T) accuracy per example and tick (mean over positions for structured outputs)."""
  b, t = predictions.shape[:2]
  logits = predictions.reshape((b, t) + tuple(prediction_reshaper))
  correct = jnp.argmax(logits, -1) == targets[:, None]
  return correct.reshape(b, t, -1).astype(jnp.float32).mean(-1)


def select_ticks(losses: jax.Array, certainties: jax.Array, use_most_certain: bool = True):
  """(B, T) losses and certainties -> (t1, t2) int arrays of shape (B,)."""
  t1 = jnp.argmin(losses, axis=1)
  if use_most_certain:
    t2 = jnp.argmax(certainties, axis=1)
  else:
    t2 = jnp.full((losses.shape[0],), losses.shape[1] - 1)
  return t1, t2


def tick_loss(losses: jax.Array, certainties: jax.Array, use_most_certain: bool = True, weight=None):
  """The CTM loss from per-tick losses (B, T). Returns (scalar loss, per-example loss (B,), t2 (B,))."""
  t1, t2 = select_ticks(losses, certainties, use_most_certain)
  t = losses.shape[1]
  l1 = jnp.sum(losses * jax.nn.one_hot(t1, t, dtype=losses.dtype), 1)  # one-hot picks: no scatter in the gradient
  l2 = jnp.sum(losses * jax.nn.one_hot(t2, t, dtype=losses.dtype), 1)
  per_example = 0.5 * (l1 + l2)
  if weight is None:
    return per_example.mean(), per_example, t2
  return jnp.sum(per_example * weight) / jnp.maximum(jnp.sum(weight), 1.0), per_example, t2
