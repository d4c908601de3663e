"""A multilayer perceptron: the baseline every family is compared with at equal parameter count."""

from typing import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
  'relu': nn.relu,
  'gelu': nn.gelu,
  'elu': nn.elu,
  'tanh': jnp.tanh,
  'silu': nn.silu,
  'sigmoid': nn.sigmoid,
  'square': jnp.square,
}


def activation(name: str) -> Callable[[jax.Array], jax.Array]:
  if name not in ACTIVATIONS:
    raise ValueError(f'activation={name!r} is unknown; choose one of {sorted(ACTIVATIONS)}.')
  return ACTIVATIONS[name]


class MLP(nn.Module):
  """Flattens the input and applies Dense layers with an activation between them.

  Attributes:
    hidden: widths of the hidden layers.
    out: output width (classes or regression targets).
    act: activation name (see ACTIVATIONS).
    dropout: dropout rate after each hidden activation (training only).

  Shapes: inputs (B, ...) -> outputs (B, out).
  """

  hidden: Sequence[int] = (128,)
  out: int = 10
  act: str = 'relu'
  dropout: float = 0.0

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    fn = activation(self.act)
    x = x.reshape((x.shape[0], -1))
    for i, width in enumerate(self.hidden):
      x = fn(nn.Dense(width, name=f'dense_{i}')(x))
      if self.dropout:
        x = nn.Dropout(self.dropout, deterministic=not train)(x)
    return nn.Dense(self.out, name='head')(x)
