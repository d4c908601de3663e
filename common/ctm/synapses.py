"""Synapse models: the CTM's cross-neuron mixing, a(t) = f_syn([o(t); z(t)]) in R^D.

depth 1: Dropout -> Dense(2D) -> GLU -> LayerNorm (the reference's setting for parity and QAMNIST).
depth > 1: a U-Net MLP whose widths taper linearly from D to `min_width` (16 in the reference) with a
LayerNorm'd skip connection at each level (mazes, ImageNet, sorting).
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from common.train.errors import ConfigurationError


def glu(x: jax.Array, axis: int = -1) -> jax.Array:
  """Gated linear unit: first half * sigmoid(second half) along `axis` (torch.nn.GLU's convention)."""
  a, b = jnp.split(x, 2, axis=axis)
  return a * jax.nn.sigmoid(b)


class SynapseGLU(nn.Module):
  """Depth-1 synapse: (B, F) -> (B, D)."""

  d_model: int
  dropout: float = 0.0

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    x = nn.Dropout(self.dropout, deterministic=not train)(x)
    x = glu(nn.Dense(2 * self.d_model, name='linear')(x))
    return nn.LayerNorm(name='norm')(x)


def unet_widths(d_model: int, depth: int, min_width: int = 16) -> list[int]:
  """Widths of the U-Net levels: linspace(D, min_width, depth) rounded down, as the reference computes them."""
  return [int(w) for w in np.linspace(d_model, min_width, depth)]


class SynapseUNet(nn.Module):
  """U-Net MLP synapse for depth > 1: (B, F) -> (B, D).

  first: Dense(widths[0]) -> LN -> SiLU. Down path i: Dropout -> Dense(w[i+1]) -> LN -> SiLU. Up path (deepest first):
  Dropout -> Dense(w[i]) -> LN -> SiLU, then out = LN(up + down_i) (skip from the matching down level).
  """

  d_model: int
  depth: int
  min_width: int = 16
  dropout: float = 0.0

  def __post_init__(self):
    super().__post_init__()
    if self.depth < 2:
      raise ConfigurationError(f'SynapseUNet.depth={self.depth} must be at least 2; use SynapseGLU for depth 1.')

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    widths = unet_widths(self.d_model, self.depth, self.min_width)

    def block(h, width, name):
      h = nn.Dropout(self.dropout, deterministic=not train)(h)
      h = nn.Dense(width, name=f'{name}_linear')(h)
      return nn.silu(nn.LayerNorm(name=f'{name}_norm')(h))

    h = nn.silu(nn.LayerNorm(name='first_norm')(nn.Dense(widths[0], name='first_linear')(x)))
    downs = [h]
    for i in range(len(widths) - 1):
      h = block(h, widths[i + 1], f'down{i}')
      downs.append(h)
    out = downs[-1]
    for i in reversed(range(len(widths) - 1)):
      out = block(out, widths[i], f'up{i}')
      out = nn.LayerNorm(name=f'skip{i}_norm')(out + downs[i])
    return out


def make_synapses(d_model: int, depth: int, dropout: float, min_width: int = 16, name: str = 'synapses') -> nn.Module:
  if depth < 1:
    raise ConfigurationError(f'synapse_depth={depth} must be at least 1.')
  if depth == 1:
    return SynapseGLU(d_model, dropout, name=name)
  return SynapseUNet(d_model, depth, min_width, dropout, name=name)
