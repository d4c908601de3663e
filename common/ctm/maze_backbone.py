"""A narrow ResNet in the shape of the reference's maze backbone, for CPU-size maze runs.

The reference (models/resnet.py, backbone 'resnet34-2' for mazes) runs, in front of the CTM:
  initial_rgb: Conv1x1(C -> 3)          (the CTM's adapter in front of every ResNet backbone)
  stem:        Conv3x3 stride 1 -> BatchNorm -> ReLU -> MaxPool 3x3 stride 2 (padding 1)
               (3x3 rather than torchvision's 7x7 stride 2, "to limit the receptive field")
  stage s:     BasicBlocks of width 64 * 2^s, the first of stages s > 0 with stride 2
so a 39x39 maze becomes 10x10 tokens of 128 features. This module is that network with the width (`width`, 64 in
the reference) and the blocks per stage (`blocks`, (3, 4) for resnet34-2) as parameters, so a CPU config can use a
few narrow blocks; `initial_pool=False` keeps full resolution (one token per maze pixel).

(B, H, W, C) -> (B, h*w, width * 2^(len(blocks) - 1)) tokens.
"""

from typing import Sequence

import flax.linen as nn
import jax

from common.train.errors import ConfigurationError


class BasicBlock(nn.Module):
  """Conv3x3(stride) -> BN -> ReLU -> Conv3x3 -> BN, plus a 1x1 projection skip when the shape changes; ReLU."""

  features: int
  strides: int = 1

  @nn.compact
  def __call__(self, x, train: bool = False):
    norm = lambda name: nn.BatchNorm(use_running_average=not train, momentum=0.9, name=name)  # noqa: E731
    h = nn.Conv(self.features, (3, 3), self.strides, padding=1, use_bias=False, name='conv1')(x)
    h = nn.relu(norm('bn1')(h))
    h = norm('bn2')(nn.Conv(self.features, (3, 3), padding=1, use_bias=False, name='conv2')(h))
    if x.shape[-1] != self.features or self.strides != 1:
      x = norm('bn_skip')(nn.Conv(self.features, (1, 1), self.strides, use_bias=False, name='conv_skip')(x))
    return nn.relu(h + x)


class MazeResNet(nn.Module):
  """The reference maze ResNet with a configurable width and depth (see the module docstring)."""

  width: int = 64
  blocks: Sequence[int] = (3, 4)
  initial_pool: bool = True
  initial_rgb: bool = True

  def __post_init__(self):
    super().__post_init__()
    if self.width < 1:
      raise ConfigurationError(f'MazeResNet.width={self.width} must be at least 1.')
    if not self.blocks or any(b < 1 for b in self.blocks):
      raise ConfigurationError(f'MazeResNet.blocks={tuple(self.blocks)} must list at least one stage of >= 1 block.')

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    if self.initial_rgb:
      x = nn.Conv(3, (1, 1), name='initial_rgb')(x)
    x = nn.Conv(self.width, (3, 3), padding=1, use_bias=False, name='stem')(x)
    x = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9, name='stem_bn')(x))
    if self.initial_pool:
      x = nn.max_pool(x, (3, 3), (2, 2), padding=((1, 1), (1, 1)))
    for s, n in enumerate(self.blocks):
      for b in range(n):
        x = BasicBlock(self.width * 2**s, 2 if (b == 0 and s > 0) else 1, name=f'stage{s}_block{b}')(x, train)
    return x.reshape((x.shape[0], -1, x.shape[-1]))
