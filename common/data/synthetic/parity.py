"""Cumulative parity (the CTM paper's parity task), generated inside a jitted step.

inputs: (B, L) float32 in {-1, +1}; targets: (B, L) int32, targets[:, i] = parity of the number of -1 among
inputs[:, :i+1] (reference ParityDataset). A batch is a pure function of its key, so a training batch drawn
from fold_in(key, step) makes the data order a function of (seed, step).
"""

import jax
import jax.numpy as jnp
import numpy as np


def cumulative_parity(bits: jax.Array) -> jax.Array:
  """(..., L) values in {-1, +1} -> (..., L) int32 cumulative parity of the -1 entries."""
  negatives = (bits < 0).astype(jnp.int32)
  return jnp.cumsum(negatives, axis=-1) % 2


def parity_batch(key: jax.Array, batch_size: int, length: int) -> dict[str, jax.Array]:
  """A random batch {'inputs': (B, L) float32 +-1, 'targets': (B, L) int32}."""
  bits = jnp.where(jax.random.bernoulli(key, 0.5, (batch_size, length)), 1.0, -1.0).astype(jnp.float32)
  return {'inputs': bits, 'targets': cumulative_parity(bits)}


def parity_eval_set(num_examples: int, length: int, seed: int = 1234) -> dict[str, np.ndarray]:
  """A fixed numpy evaluation set (independent of the training stream)."""
  rng = np.random.default_rng(seed)
  bits = np.where(rng.random((num_examples, length)) < 0.5, 1.0, -1.0).astype(np.float32)
  targets = (np.cumsum(bits < 0, axis=-1) % 2).astype(np.int32)
  return {'inputs': bits, 'targets': targets}
