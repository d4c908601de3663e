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


RESNET_BLOCKS = {
  18: ('basic', (2, 2, 2, 2)),
  34: ('basic', (3, 4, 6, 3)),
  50: ('bottleneck', (3, 4, 6, 3)),
  101: ('bottleneck', (3, 4, 23, 3)),
  152: ('bottleneck', (3, 8, 36, 3)),
}


class _ResBlock(nn.Module):
  features: int
  strides: int
  bottleneck: bool

  @nn.compact
  def __call__(self, x, train: bool = False):
    norm = lambda name: nn.BatchNorm(use_running_average=not train, momentum=0.9, name=name)  # noqa: E731
    out_features = self.features * (4 if self.bottleneck else 1)
    if self.bottleneck:
      h = nn.relu(norm('bn1')(nn.Conv(self.features, (1, 1), use_bias=False, name='conv1')(x)))
      h = nn.relu(norm('bn2')(nn.Conv(self.features, (3, 3), self.strides, use_bias=False, name='conv2')(h)))
      h = norm('bn3')(nn.Conv(out_features, (1, 1), use_bias=False, name='conv3')(h))
    else:
      h = nn.relu(norm('bn1')(nn.Conv(self.features, (3, 3), self.strides, use_bias=False, name='conv1')(x)))
      h = norm('bn2')(nn.Conv(self.features, (3, 3), use_bias=False, name='conv2')(h))
    if x.shape[-1] != out_features or self.strides != 1:
      x = norm('bn_skip')(nn.Conv(out_features, (1, 1), self.strides, use_bias=False, name='conv_skip')(x))
    return nn.relu(h + x)


class ResNetBackbone(nn.Module):
  """ResNet-{18,34,50,101,152} truncated after `stages` stages (the reference's 'resnet152-4' = depth 152, 4 stages).

  (B, H, W, C) -> (B, h*w, F) tokens with F = 64 * 2^(stages-1) (x4 for bottleneck depths). A plain torchvision-style
  ResNet: 7x7/2 stem + 3x3/2 max-pool; the reference's CTM variants may differ in strides, which only changes h*w.
  """

  depth: int = 18
  stages: int = 4

  def __post_init__(self):
    super().__post_init__()
    if self.depth not in RESNET_BLOCKS:
      from common.train.errors import ConfigurationError

      raise ConfigurationError(f'ResNetBackbone.depth={self.depth} is unknown; choose one of {sorted(RESNET_BLOCKS)}.')
    if not 1 <= self.stages <= 4:
      from common.train.errors import ConfigurationError

      raise ConfigurationError(f'ResNetBackbone.stages={self.stages} must be between 1 and 4.')

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    kind, blocks = RESNET_BLOCKS[self.depth]
    x = nn.Conv(64, (7, 7), 2, use_bias=False, name='stem')(x)
    x = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9, name='stem_bn')(x))
    x = nn.max_pool(x, (3, 3), (2, 2), padding='SAME')
    for s in range(self.stages):
      for b in range(blocks[s]):
        strides = 2 if (b == 0 and s > 0) else 1
        x = _ResBlock(64 * 2**s, strides, kind == 'bottleneck', name=f'stage{s}_block{b}')(x, train)
    return x.reshape((x.shape[0], -1, x.shape[-1]))
