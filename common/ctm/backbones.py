"""Input backbones: raw inputs -> feature tokens (B, S, F) that the CTM attends over.

ParityBackbone: a +-1 sequence (B, L) -> Embedding(2, F) of each bit plus the reference's 'custom-rotational-1d'
positional embedding (a unit vector rotated from 0 to 180 degrees along the sequence, then Dense(2 -> F)).
ScalarSequenceBackbone: a real-valued sequence (B, L) -> Dense(1 -> F) per element plus the same positional
embedding (used for sorting).
ConvBackbone: images (B, H, W, C) -> blocks of [Conv3x3 -> BatchNorm -> ReLU -> MaxPool2] -> (B, h*w, channels),
the backbone of the reference's MNIST tutorial, used here for 8x8 digits.
ResNetBackbone: the reference CTM's ResNets ('resnet{18,34,50,101,152}-{1..4}') with its 1x1 'initial_rgb'
convolution, 3x3 stride-1 stem and torch's paddings. ShallowWideBackbone: the reference's 'shallow-wide'.
Both take an optional 2-D positional embedding (common/ctm/positional.py) added to their last feature map, as the
reference adds its `positional_embedding_type` to the backbone's features.
"""

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from common.ctm.synapses import glu
from common.train.errors import ConfigurationError


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

# torch's padding=1 on both sides. flax's 'SAME' pads (0, 1) where a stride-2 window leaves one pixel over (even
# sizes), which moves every output pixel one input pixel: the reference's exact strides need explicit pads.
_PAD1 = ((1, 1), (1, 1))


def _batch_norm(train: bool, name: str) -> nn.BatchNorm:
  # torch BatchNorm2d: eps 1e-5, running averages updated with momentum 0.1 (flax's 0.9). Training normalises with the
  # biased batch variance like torch; flax also stores the biased one in the running variance (torch the unbiased).
  return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, name=name)


def _add_positional(x: jax.Array, positional) -> jax.Array:
  return x if positional is None else x + positional(x).astype(x.dtype)


class _ResBlock(nn.Module):
  """The reference's BasicBlock / Bottleneck (torchvision's v1.5: the stride sits in the 3x3 convolution)."""

  features: int
  strides: int
  bottleneck: bool

  @nn.compact
  def __call__(self, x, train: bool = False):
    out_features = self.features * (4 if self.bottleneck else 1)
    s = (self.strides, self.strides)
    if self.bottleneck:
      h = nn.relu(_batch_norm(train, 'bn1')(nn.Conv(self.features, (1, 1), use_bias=False, name='conv1')(x)))
      h = nn.Conv(self.features, (3, 3), s, padding=_PAD1, use_bias=False, name='conv2')(h)
      h = nn.relu(_batch_norm(train, 'bn2')(h))
      h = _batch_norm(train, 'bn3')(nn.Conv(out_features, (1, 1), use_bias=False, name='conv3')(h))
    else:
      h = nn.Conv(self.features, (3, 3), s, padding=_PAD1, use_bias=False, name='conv1')(x)
      h = nn.relu(_batch_norm(train, 'bn1')(h))
      h = _batch_norm(train, 'bn2')(nn.Conv(self.features, (3, 3), padding=_PAD1, use_bias=False, name='conv2')(h))
    if x.shape[-1] != out_features or self.strides != 1:
      x = nn.Conv(out_features, (1, 1), s, padding='VALID', use_bias=False, name='downsample_conv')(x)
      x = _batch_norm(train, 'downsample_bn')(x)
    return nn.relu(h + x)


class ResNetBackbone(nn.Module):
  """The reference CTM's ResNet-{18,34,50,101,152} truncated after `stages` stages ('resnet152-4': depth 152, 4).

  (B, H, W, C) images (or (B, H, W)) -> (B, h*w, F) tokens, F = 64 * 2^(stages-1) (x4 for bottleneck depths), as
  the reference (models/resnet.py, models/ctm.py compute_features):
    initial_rgb: Conv1x1(C -> 3, with bias), the reference's adapter in front of every ResNet backbone.
    stem: Conv3x3 stride 1 (not torchvision's 7x7 stride 2: the reference narrows the receptive field on purpose)
      -> BatchNorm -> ReLU -> MaxPool 3x3 stride 2 pad 1.
    stage s (1-based): blocks of 64 * 2^(s-1) features, stride 2 in the first block of stages 2-4, torch's padding.
    positional: an embedding module (common/ctm/positional.py) added to the final feature map, or None.
  Parameter names follow the reference's (conv1, bn1, layer{s}_{b}/conv1, ..., downsample_conv/_bn) so
  common/ctm/convert.py maps a reference state_dict onto them.
  """

  depth: int = 18
  stages: int = 4
  initial_rgb: bool = True
  positional: Any = None

  def __post_init__(self):
    super().__post_init__()
    if self.depth not in RESNET_BLOCKS:
      raise ConfigurationError(f'ResNetBackbone.depth={self.depth} is unknown; choose one of {sorted(RESNET_BLOCKS)}.')
    if not 1 <= self.stages <= 4:
      raise ConfigurationError(f'ResNetBackbone.stages={self.stages} must be between 1 and 4.')

  @property
  def features(self) -> int:
    return 64 * 2 ** (self.stages - 1) * (4 if RESNET_BLOCKS[self.depth][0] == 'bottleneck' else 1)

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    if x.ndim == 3:
      x = x[..., None]
    kind, blocks = RESNET_BLOCKS[self.depth]
    if self.initial_rgb:
      x = nn.Conv(3, (1, 1), name='initial_rgb')(x)
    x = nn.Conv(64, (3, 3), padding=_PAD1, use_bias=False, name='conv1')(x)
    x = nn.relu(_batch_norm(train, 'bn1')(x))
    x = nn.max_pool(x, (3, 3), (2, 2), padding=_PAD1)
    for s in range(self.stages):
      for b in range(blocks[s]):
        strides = 2 if (b == 0 and s > 0) else 1
        x = _ResBlock(64 * 2**s, strides, kind == 'bottleneck', name=f'layer{s + 1}_{b}')(x, train)
    x = _add_positional(x, self.positional)
    return x.reshape((x.shape[0], -1, x.shape[-1]))


class ShallowWideBackbone(nn.Module):
  """The reference's 'shallow-wide' backbone: (B, H, W, C) -> (B, h*w, width) tokens, h = ceil(H / 2).

  Conv3x3 stride 2 (C -> 2 width) -> GLU over channels -> BatchNorm -> Conv3x3 with `groups` groups
  (width -> 2 width) -> GLU -> BatchNorm; torch's padding 1, convolutions with bias. The reference fixes
  width = 2048 and 32 groups (the defaults); a smaller width keeps the same structure for small machines.
  positional: an embedding module added to the feature map (common/ctm/positional.py), or None.
  """

  width: int = 2048
  groups: int = 32
  positional: Any = None

  def __post_init__(self):
    super().__post_init__()
    if self.width < 1 or self.groups < 1 or self.width % self.groups:
      raise ConfigurationError(
        f'ShallowWideBackbone.width={self.width} must be a positive multiple of groups={self.groups}.'
      )

  @property
  def features(self) -> int:
    return self.width

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    if x.ndim == 3:
      x = x[..., None]
    x = glu(nn.Conv(2 * self.width, (3, 3), (2, 2), padding=_PAD1, name='conv1')(x))
    x = _batch_norm(train, 'bn1')(x)
    x = nn.Conv(2 * self.width, (3, 3), padding=_PAD1, feature_group_count=self.groups, name='conv2')(x)
    x = _batch_norm(train, 'bn2')(glu(x))
    x = _add_positional(x, self.positional)
    return x.reshape((x.shape[0], -1, x.shape[-1]))
