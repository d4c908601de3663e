"""Synapse models: the CTM's cross-neuron mixing, a(t) = f_syn([o(t); z(t)]) in R^D.

depth 1: Dropout -> Dense(2D) -> GLU -> LayerNorm (the reference's setting for parity and QAMNIST).
depth > 1: a U-Net MLP whose widths taper linearly from D to `min_width` (16 in the reference) with a
LayerNorm'd skip connection at each level (mazes, ImageNet, sorting).

`columns=True` runs either model on (F, B) arrays (features first; common/ctm/columns.py), the CTM tick's layout;
the parameters are the same in both layouts. LayerNorms use torch's epsilon (1e-5) and two-pass variance.
`compute_dtype` (e.g. jnp.bfloat16) runs the linear layers' matmuls in that dtype with float32 accumulation;
parameters, LayerNorms and activations stay float32.
"""

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from common.ctm.columns import ColumnDense, ColumnLayerNorm, layer_norm, mixed_dense
from common.train.errors import ConfigurationError


def glu(x: jax.Array, axis: int = -1) -> jax.Array:
  """Gated linear unit: first half * sigmoid(second half) along `axis` (torch.nn.GLU's convention)."""
  a, b = jnp.split(x, 2, axis=axis)
  return a * jax.nn.sigmoid(b)


def _dense(features: int, columns: bool, name: str, compute_dtype: Any = None) -> nn.Module:
  if columns:
    return ColumnDense(features, compute_dtype=compute_dtype, name=name)
  return mixed_dense(features, compute_dtype, name=name)


def _norm(columns: bool, name: str) -> nn.Module:
  return ColumnLayerNorm(name=name) if columns else layer_norm(name=name)


class SynapseGLU(nn.Module):
  """Depth-1 synapse: (B, F) -> (B, D), or (F, B) -> (D, B) with columns=True."""

  d_model: int
  dropout: float = 0.0
  columns: bool = False
  compute_dtype: Any = None

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    x = nn.Dropout(self.dropout, deterministic=not train)(x)
    x = glu(_dense(2 * self.d_model, self.columns, 'linear', self.compute_dtype)(x), 0 if self.columns else -1)
    return _norm(self.columns, 'norm')(x)


def unet_widths(d_model: int, depth: int, min_width: int = 16) -> list[int]:
  """Widths of the U-Net levels: linspace(D, min_width, depth) rounded down, as the reference computes them."""
  return [int(w) for w in np.linspace(d_model, min_width, depth)]


class SynapseUNet(nn.Module):
  """U-Net MLP synapse for depth > 1: (B, F) -> (B, D), or (F, B) -> (D, B) with columns=True.

  first: Dense(widths[0]) -> LN -> SiLU. Down path i: Dropout -> Dense(w[i+1]) -> LN -> SiLU. Up path (deepest first):
  Dropout -> Dense(w[i]) -> LN -> SiLU, then out = LN(up + down_i) (skip from the matching down level).
  """

  d_model: int
  depth: int
  min_width: int = 16
  dropout: float = 0.0
  columns: bool = False
  compute_dtype: Any = None

  def __post_init__(self):
    super().__post_init__()
    if self.depth < 2:
      raise ConfigurationError(f'SynapseUNet.depth={self.depth} must be at least 2; use SynapseGLU for depth 1.')

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    widths = unet_widths(self.d_model, self.depth, self.min_width)

    def block(h, width, name):
      h = nn.Dropout(self.dropout, deterministic=not train)(h)
      h = _dense(width, self.columns, f'{name}_linear', self.compute_dtype)(h)
      return nn.silu(_norm(self.columns, f'{name}_norm')(h))

    first = _dense(widths[0], self.columns, 'first_linear', self.compute_dtype)
    h = nn.silu(_norm(self.columns, 'first_norm')(first(x)))
    downs = [h]
    for i in range(len(widths) - 1):
      h = block(h, widths[i + 1], f'down{i}')
      downs.append(h)
    out = downs[-1]
    for i in reversed(range(len(widths) - 1)):
      out = block(out, widths[i], f'up{i}')
      out = _norm(self.columns, f'skip{i}_norm')(out + downs[i])
    return out


def make_synapses(
  d_model: int,
  depth: int,
  dropout: float,
  min_width: int = 16,
  name: str = 'synapses',
  columns: bool = False,
  compute_dtype: Any = None,
) -> nn.Module:
  if depth < 1:
    raise ConfigurationError(f'synapse_depth={depth} must be at least 1.')
  if depth == 1:
    return SynapseGLU(d_model, dropout, columns, compute_dtype, name=name)
  return SynapseUNet(d_model, depth, min_width, dropout, columns, compute_dtype, name=name)
