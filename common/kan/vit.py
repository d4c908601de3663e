"""A small Flax ViT whose attention normaliser is softmax or Fourier-KArAt (common.kan.attention).

Images (B, H, W, C) are cut into patch x patch patches, embedded, given learned position embeddings, passed through
`depth` pre-norm Transformer blocks, mean-pooled and classified. attention='karat' swaps every block's softmax for
FourierKArAt; karat_mode 'blockwise' gives each block its own operator, 'universal' shares one across blocks.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

from common.kan.attention import FourierKArAt
from common.train.errors import ConfigurationError


class SelfAttention(nn.Module):
  """Multi-head self-attention: (B, N, D) -> (B, N, D); `normaliser` maps scores (B, H, N, N) to weights."""

  num_heads: int
  normaliser: nn.Module | None = None  # None = softmax

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    b, n, d = x.shape
    hd = d // self.num_heads
    qkv = nn.Dense(3 * d, name='qkv')(x).reshape(b, n, 3, self.num_heads, hd)
    q, k, v = (jnp.moveaxis(qkv[:, :, i], 1, 2) for i in range(3))  # (B, H, N, hd)
    scores = jnp.einsum('bhqd,bhkd->bhqk', q, k) / jnp.sqrt(hd)
    weights = jax.nn.softmax(scores, axis=-1) if self.normaliser is None else self.normaliser(scores)
    out = jnp.einsum('bhqk,bhkd->bhqd', weights, v)
    return nn.Dense(d, name='out')(jnp.moveaxis(out, 1, 2).reshape(b, n, d))


class Block(nn.Module):
  num_heads: int
  mlp_ratio: int = 2
  normaliser: nn.Module | None = None

  @nn.compact
  def __call__(self, x):
    x = x + SelfAttention(self.num_heads, self.normaliser, name='attn')(nn.LayerNorm()(x))
    h = nn.Dense(self.mlp_ratio * x.shape[-1])(nn.LayerNorm()(x))
    return x + nn.Dense(x.shape[-1])(nn.gelu(h))


class ViT(nn.Module):
  """(B, H, W, C) -> logits (B, num_classes).

  Attributes:
    patch: patch side; H and W must be multiples of it.
    dim, depth, num_heads, mlp_ratio, num_classes: the usual ViT sizes.
    attention: 'softmax' or 'karat'.
    karat_grid, karat_rank, karat_mode: FourierKArAt's G, r (None = full) and 'blockwise' | 'universal'.
  """

  patch: int = 2
  dim: int = 64
  depth: int = 2
  num_heads: int = 4
  mlp_ratio: int = 2
  num_classes: int = 10
  attention: str = 'softmax'
  karat_grid: int = 3
  karat_rank: int | None = None
  karat_mode: str = 'blockwise'

  def __post_init__(self):
    if self.attention not in ('softmax', 'karat'):
      raise ConfigurationError(f"ViT.attention={self.attention!r} must be 'softmax' or 'karat'.")
    if self.karat_mode not in ('blockwise', 'universal'):
      raise ConfigurationError(f"ViT.karat_mode={self.karat_mode!r} must be 'blockwise' or 'universal'.")
    if self.dim % self.num_heads:
      raise ConfigurationError(f'ViT.dim={self.dim} must be divisible by ViT.num_heads={self.num_heads}.')
    super().__post_init__()

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    del train
    b, h, w, c = x.shape
    p = self.patch
    if h % p or w % p:
      raise ConfigurationError(f'ViT.patch={p} must divide the image size {h}x{w}.')
    x = x.reshape(b, h // p, p, w // p, p, c).transpose(0, 1, 3, 2, 4, 5).reshape(b, (h // p) * (w // p), p * p * c)
    x = nn.Dense(self.dim, name='embed')(x)
    n = x.shape[1]
    x = x + self.param('pos', nn.initializers.normal(0.02), (1, n, self.dim))

    def karat(name):
      return FourierKArAt(self.num_heads, n, self.karat_grid, self.karat_rank, name=name)

    shared = karat('karat_shared') if self.attention == 'karat' and self.karat_mode == 'universal' else None
    for i in range(self.depth):
      normaliser = None
      if self.attention == 'karat':
        normaliser = shared if shared is not None else karat(f'karat_{i}')
      x = Block(self.num_heads, self.mlp_ratio, normaliser, name=f'block_{i}')(x)
    return nn.Dense(self.num_classes, name='head')(nn.LayerNorm()(x).mean(axis=1))
