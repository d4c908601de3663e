"""Positional embeddings for 2-D feature maps, the reference CTM's `positional_embedding_type` options.

Each module maps a feature map (B, H, W, C) to an embedding that broadcasts against it ((1, H, W, C) or
(B, H, W, C)); the image backbones add it to their features before flattening them into tokens
(common/ctm/backbones.py). The 1-D 'custom-rotational-1d' embedding of sequences lives in ParityBackbone.

  LearnableFourier        'learnable-fourier': Algorithm 1 of Li et al. 2021 (arXiv 2106.02795). Coordinates
                          (column / (W-1), row / (H-1)) -> Wr (no bias, N(0, gamma^-2) init) -> [cos; sin] / sqrt(F)
                          -> Dense(hidden) -> GLU -> Dense(C) -> LayerNorm.
  MultiLearnableFourier   'multi-learnable-fourier': N LearnableFourier embedders with gamma = linspace(1.0, 0.1, N),
                          mixed by softmax(combination), combination initialised to ones.
  CustomRotational        'custom-rotational': a learnable start vector (init (0, 1)) rotated by
                          linspace(0, 180 degrees) along each axis; the two rotated vectors of a cell, (row, column),
                          are concatenated and projected by Dense(4 -> C).

Parameter names mirror the reference modules (Wr, mlp_in/mlp_out/norm for its mlp.0/mlp.2/mlp.3, combination,
start_vector, projection) so common/ctm/convert.py can map a reference state_dict onto them. Dense layers use
flax's default initialisers (the repo's convention), not torch's.

Deviations (both only where the reference is undefined or fails):
  - A map with H == 1 or W == 1 gets coordinate 0 along that axis (the reference divides by zero there and its
    embedding is NaN).
  - CustomRotational: the reference derives both angle ranges from the width and only works on square maps
    (H == W, a (1, C, W, W) embedding added to (B, C, H, W)); here rows use linspace over H and columns over W,
    which is the same embedding on square maps and also defined on rectangular ones.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from common.ctm.synapses import glu
from common.train.errors import ConfigurationError


def _coordinates(height: int, width: int) -> jax.Array:
  """(H, W, 2) grid of (column / (W-1), row / (H-1)), the reference's add_coord_dim(scaled=True)."""
  cols = np.arange(width, dtype=np.float32) / max(width - 1, 1)
  rows = np.arange(height, dtype=np.float32) / max(height - 1, 1)
  return jnp.asarray(np.stack(np.meshgrid(cols, rows), axis=-1))  # meshgrid(xy): [..., 0] column, [..., 1] row


class LearnableFourier(nn.Module):
  """(B, H, W, C) -> (1, H, W, C) learnable Fourier-feature embedding; `gamma` sets the initial frequency scale."""

  gamma: float = 1 / 2.5
  fourier_dims: int = 256
  hidden_dims: int = 128

  def __post_init__(self):
    super().__post_init__()
    if self.fourier_dims < 2 or self.fourier_dims % 2:
      raise ConfigurationError(f'LearnableFourier.fourier_dims={self.fourier_dims} must be a positive even number.')
    if self.hidden_dims < 2 or self.hidden_dims % 2:
      raise ConfigurationError(f'LearnableFourier.hidden_dims={self.hidden_dims} must be a positive even number.')

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    _, h, w, c = x.shape
    coords = _coordinates(h, w).astype(x.dtype)
    projected = nn.Dense(
      self.fourier_dims // 2, use_bias=False, kernel_init=nn.initializers.normal(self.gamma**-2), name='Wr'
    )(coords)
    feats = jnp.concatenate([jnp.cos(projected), jnp.sin(projected)], axis=-1) / np.sqrt(self.fourier_dims)
    y = glu(nn.Dense(self.hidden_dims, name='mlp_in')(feats))
    y = nn.Dense(c, name='mlp_out')(y)
    y = nn.LayerNorm(epsilon=1e-5, use_fast_variance=False, name='norm')(y)
    return y[None]


class MultiLearnableFourier(nn.Module):
  """(B, H, W, C) -> (1, H, W, C): a softmax-weighted sum of `n` LearnableFourier embedders."""

  n: int = 10
  gamma_range: tuple[float, float] = (1.0, 0.1)
  fourier_dims: int = 256
  hidden_dims: int = 128

  def __post_init__(self):
    super().__post_init__()
    if self.n < 1:
      raise ConfigurationError(f'MultiLearnableFourier.n={self.n} must be at least 1.')

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    gammas = np.linspace(self.gamma_range[0], self.gamma_range[1], self.n)
    embs = jnp.stack(
      [
        LearnableFourier(float(g), self.fourier_dims, self.hidden_dims, name=f'embedder_{i}')(x)
        for i, g in enumerate(gammas)
      ]
    )  # (n, 1, H, W, C)
    weights = jax.nn.softmax(self.param('combination', nn.initializers.ones, (self.n,)))
    return jnp.tensordot(weights.astype(embs.dtype), embs, axes=1)


def rotate(start: jax.Array, degrees_max: float, n: int) -> jax.Array:
  """(n, 2): `start` (2,) rotated counter-clockwise by angles linspace(0, degrees_max, n) degrees."""
  theta = jnp.deg2rad(jnp.linspace(0.0, degrees_max, n))
  cos, sin = jnp.cos(theta), jnp.sin(theta)
  return jnp.stack([cos * start[0] - sin * start[1], sin * start[0] + cos * start[1]], axis=-1)


class CustomRotational(nn.Module):
  """(B, H, W, C) -> (1, H, W, C): Dense(4 -> C) of [rotated(row); rotated(column)] with a learnable start vector."""

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    _, h, w, c = x.shape
    start = self.param('start_vector', lambda key, shape: jnp.array([0.0, 1.0]), (2,))
    rows, cols = rotate(start, 180.0, h), rotate(start, 180.0, w)
    key = jnp.concatenate(
      [jnp.broadcast_to(rows[:, None, :], (h, w, 2)), jnp.broadcast_to(cols[None, :, :], (h, w, 2))], axis=-1
    )
    return nn.Dense(c, name='projection')(key.astype(x.dtype))[None]
