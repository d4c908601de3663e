"""Input backbones: raw inputs -> feature tokens (B, S, F) that the CTM attends over.

ParityBackbone: a +-1 sequence (B, L) -> Embedding(2, F) of each bit plus the reference's 'custom-rotational-1d'
positional embedding (a unit vector rotated from 0 to 180 degrees along the sequence, then Dense(2 -> F)).
ScalarSequenceBackbone: a real-valued sequence (B, L) -> Dense(1 -> F) per element plus the same positional
embedding (used for sorting).
ConvBackbone: images (B, H, W, C) -> blocks of [Conv3x3 -> BatchNorm -> ReLU -> MaxPool2] -> (B, h*w, channels),
the backbone of the reference's MNIST tutorial, used here for 8x8 digits.
"""

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


def rotational_embedding_1d(length: int) -> jax.Array:
  """(L, 2) unit vectors: the start vector (0, 1) rotated by angles linspace(0, pi, L)."""
  theta = jnp.linspace(0.0, jnp.pi, length)
  return jnp.stack([-jnp.sin(theta), jnp.cos(theta)], axis=-1)


class ParityBackbone(nn.Module):
  """(B, L) values in {-1, +1} -> (B, L, features)."""

  features: int
  positional: bool = True

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    table = self.param('embed', nn.initializers.normal(1.0), (2, self.features))
    tokens = jax.nn.one_hot((x > 0).astype(jnp.int32), 2, dtype=table.dtype) @ table  # Embedding(2, F), no gather
    if self.positional:
      tokens = tokens + nn.Dense(self.features, name='posemb')(rotational_embedding_1d(x.shape[-1]))
    return tokens


class ScalarSequenceBackbone(nn.Module):
  """(B, L) real values -> (B, L, features)."""

  features: int
  positional: bool = True

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    tokens = nn.Dense(self.features, name='embed')(x[..., None])
    if self.positional:
      tokens = tokens + nn.Dense(self.features, name='posemb')(rotational_embedding_1d(x.shape[-1]))
    return tokens


class ConvBackbone(nn.Module):
  """(B, H, W, C) images (or (B, H, W)) -> (B, S, channels[-1]) tokens."""

  channels: Sequence[int] = (32, 32)

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    if x.ndim == 3:
      x = x[..., None]
    for i, ch in enumerate(self.channels):
      x = nn.Conv(ch, (3, 3), padding='SAME', name=f'conv{i}')(x)
      x = nn.BatchNorm(use_running_average=not train, momentum=0.9, name=f'bn{i}')(x)
      x = nn.max_pool(nn.relu(x), (2, 2), strides=(2, 2), padding='SAME')
    return x.reshape((x.shape[0], -1, x.shape[-1]))
