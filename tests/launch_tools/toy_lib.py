"""Tiny configurables for the launch-tools tests: a flax model, an optimizer factory and an entry point.

They live here (not in common/) so golden outputs never change when shared code moves.
"""

import flax.linen as nn
import jax.numpy as jnp


class Net(nn.Module):
  """Dense layers of `width` units, `depth` times. Shapes: (B, ...) -> (B, out)."""

  width: int = 8
  depth: int = 2
  out: int = 3
  dropout: float = 0.0
  act: str = 'relu'

  @nn.compact
  def __call__(self, x, train: bool = False):
    x = x.reshape((x.shape[0], -1))
    for _ in range(self.depth):
      x = nn.relu(nn.Dense(self.width)(x))
    return nn.Dense(self.out)(x)


def make_optimizer(num_steps: int, *, name: str = 'adam', learning_rate: float = 1e-3, clip: float | None = None):
  """A stand-in optimizer factory (never called by the diff tests)."""
  return (num_steps, name, learning_rate, clip)


def data(*, size: int = 64, noise: float = 0.1):
  return jnp.zeros((size, 4)) + noise


def train(
  *,
  model,
  optimizer,
  data,
  num_steps: int,
  seed: int,
  workdir: str = '',
  dry_run: bool = False,
  log_every: int = 10,
  metric: str = 'loss',
):
  """An entry point with the launcher's contract that does nothing."""
  del model, optimizer, data, workdir, dry_run, log_every, metric
  return {'loss': float(num_steps), 'seed': seed}


def unused(*, level: int = 1):
  """Bound in a gin file but never referenced from the entry point: a dead binding."""
  return level
