"""A multilayer perceptron of quadratic neurons (the trainability experiment's network)."""

from typing import Sequence

import flax.linen as nn
import jax

from common.models.mlp import activation
from common.quadratic.neurons import QuadraticDense


class QuadraticMLP(nn.Module):
  """Flattens the input and applies QuadraticDense layers with an activation between them.

  Attributes:
    hidden: widths of the hidden (quadratic) layers.
    out: output width (classes or regression targets).
    act: activation name (common.models.mlp.ACTIVATIONS).
    form, init_scheme, rank, shrink_g, shrink_b: passed to every QuadraticDense (see common/quadratic/neurons.py).
    quadratic_head: whether the output layer is quadratic too (default: a conventional Dense head, as the
      ReLinear QResNets end in a conventional linear classifier).

  Shapes: inputs (B, ...) -> outputs (B, out).
  """

  hidden: Sequence[int] = (64, 64, 64)
  out: int = 10
  act: str = 'relu'
  form: str = 'fan'
  init_scheme: str = 'relinear'
  rank: int = 1
  shrink_g: float = 0.0
  shrink_b: float = 0.0
  quadratic_head: bool = False

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    fn = activation(self.act)
    x = x.reshape((x.shape[0], -1))
    layer = lambda width, name: QuadraticDense(  # noqa: E731
      width,
      form=self.form,
      init_scheme=self.init_scheme,
      rank=self.rank,
      shrink_g=self.shrink_g,
      shrink_b=self.shrink_b,
      name=name,
    )
    for i, width in enumerate(self.hidden):
      x = fn(layer(width, f'qdense_{i}')(x))
    if self.quadratic_head:
      return layer(self.out, 'head')(x)
    return nn.Dense(self.out, name='head')(x)
