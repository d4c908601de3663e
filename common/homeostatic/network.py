"""The network of the need-based learner: an ELU MLP initialised as in the authors' NumPy release."""

from typing import Sequence

import flax.linen as nn
import jax


class EluMLP(nn.Module):
  """Flatten -> [Dense -> ELU] * len(hidden) -> Dense (logits).

  The authors' release (784-80-60-10 on MNIST) draws kernels from He-normal (std sqrt(2 / fan_in)) and biases
  from N(0, 1); `bias_std` keeps that choice configurable.

  Shapes: inputs (B, ...) -> logits (B, out).
  """

  hidden: Sequence[int] = (80, 60)
  out: int = 10
  bias_std: float = 1.0

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    x = x.reshape((x.shape[0], -1))
    dense = lambda width, name: nn.Dense(  # noqa: E731
      width, kernel_init=nn.initializers.he_normal(), bias_init=nn.initializers.normal(self.bias_std), name=name
    )
    for i, width in enumerate(self.hidden):
      x = nn.elu(dense(width, f'dense_{i}')(x))
    return dense(self.out, 'head')(x)
