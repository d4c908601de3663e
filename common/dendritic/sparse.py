"""Dense layers with a fixed random sparse weight mask (Numenta's SparseWeights), and the density-aware init.

The mask is drawn once at initialisation (from the 'params' stream) and kept in the non-parameter collection
'masks', so it is checkpointed with the model and never trained. Every output unit keeps exactly
round((1 - sparsity) * fan_in) of its inputs, as in nupic.torch. The forward pass multiplies the kernel by the
mask, so masked weights get zero gradient (Numenta instead re-zeroes them after each step; same effect).
"""

import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from common.train.errors import ConfigurationError

MASKS = 'masks'


def check_sparsity(name: str, value: float) -> None:
  if not 0.0 <= value < 1.0:
    raise ConfigurationError(f'{name}={value} must be in [0, 1) (fraction of weights fixed at zero).')


def fixed_mask(key: jax.Array, shape: tuple[int, ...], sparsity: float, axis: int = 0) -> jax.Array:
  """{0,1} mask of `shape`; along `axis` (the fan-in), each slice keeps exactly round((1-sparsity)*fan_in) ones."""
  fan_in = shape[axis]
  keep = max(1, round((1.0 - sparsity) * fan_in))
  scores = jax.random.uniform(key, shape)
  ranks = jnp.argsort(jnp.argsort(scores, axis=axis), axis=axis)
  return (ranks < keep).astype(jnp.float32)


def density_uniform_init(fan_in: int, input_density: float = 1.0, weight_density: float = 1.0):
  """Numenta's "modified" init: U(+-1/sqrt(input_density * weight_density * fan_in))."""
  bound = 1.0 / math.sqrt(max(input_density * weight_density * fan_in, 1e-12))

  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -bound, bound)

  return init


class SparseDense(nn.Module):
  """y = x @ (kernel * mask) + bias with a fixed random mask of the given sparsity.

  Attributes:
    features: output width.
    sparsity: fraction of each unit's input weights fixed at zero (0 = dense).
    input_density: expected fraction of non-zero inputs (e.g. k/n after k-winners), used only by the init.
    use_bias: add a bias.
  Shapes: (..., fan_in) -> (..., features).
  """

  features: int
  sparsity: float = 0.0
  input_density: float = 1.0
  use_bias: bool = True
  kernel_init: Any = None

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    check_sparsity('sparsity', self.sparsity)
    fan_in = x.shape[-1]
    init = self.kernel_init or density_uniform_init(fan_in, self.input_density, 1.0 - self.sparsity)
    kernel = self.param('kernel', init, (fan_in, self.features))
    if self.sparsity > 0:
      mask = self.variable(MASKS, 'kernel', lambda: fixed_mask(self.make_rng('params'), kernel.shape, self.sparsity))
      kernel = kernel * mask.value
    y = x @ kernel
    if self.use_bias:
      bound = 1.0 / math.sqrt(fan_in)
      y = y + self.param('bias', lambda k, s: jax.random.uniform(k, s, jnp.float32, -bound, bound), (self.features,))
    return y
