"""The source model of test-time adaptation experiments: a small CNN with batch norm and a neuro-modulation layer.

    conv_0 (3x3, no bias) -> norm_0 (BatchNorm) -> modulator -> relu -> 2x2 max-pool
    -> conv_1 (3x3) -> norm_1 (BatchNorm) -> relu -> 2x2 max-pool -> flatten -> head (Dense, the classes)

conv_0 is the early layer that soft Hebbian learning adapts at test time (common/continual/adaptation.py);
`modulator` is the feedback neuro-modulation layer of NHL (Tang et al., CVPR 2023): a 1x1 convolution over the
first layer's channels, initialised to the identity and trained with the rest of the source model, so the source
network is an ordinary CNN; at test time NHL tunes it by entropy minimisation. Where it sits (right after the
Hebbian layer's normalisation) and its form (1x1 conv, identity init) are our choice: the seed says only that a
neuro-modulation layer fine-tunes the Hebbian layer's responses from the error back-propagated from the top.
conv_0 has no bias: the soft Hebbian rule (y_k (x - u_k w_k)) has no bias term, and norm_0 removes a per-channel
offset anyway.

train=True normalises with the batch's statistics (and updates the running ones when 'batch_stats' is mutable);
train=False uses the running statistics. Shapes: (B, H, W, C) images -> (B, num_classes) logits.
"""

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


def _identity_1x1(key, shape, dtype=jnp.float32):
  del key
  return jnp.eye(shape[-1], dtype=dtype).reshape(shape)


class NeuroModulator(nn.Module):
  """A 1x1 convolution over channels, initialised to the identity (zero bias). (..., C) -> (..., C)."""

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    c = x.shape[-1]
    kernel = self.param('kernel', _identity_1x1, (1, 1, c, c))
    bias = self.param('bias', nn.initializers.zeros, (c,))
    return jnp.einsum('...i,io->...o', x, kernel[0, 0]) + bias


class TTACNN(nn.Module):
  """The source CNN (module docstring). Attributes: channels of conv_0/conv_1, num_classes, momentum of BatchNorm."""

  channels: Sequence[int] = (16, 32)
  num_classes: int = 10
  norm_momentum: float = 0.9

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    norm = lambda name: nn.BatchNorm(use_running_average=not train, momentum=self.norm_momentum, name=name)  # noqa: E731
    x = nn.Conv(self.channels[0], (3, 3), padding='SAME', use_bias=False, name='conv_0')(x)
    x = NeuroModulator(name='modulator')(norm('norm_0')(x))
    x = nn.max_pool(nn.relu(x), (2, 2), (2, 2))
    x = nn.Conv(self.channels[1], (3, 3), padding='SAME', name='conv_1')(x)
    x = nn.max_pool(nn.relu(norm('norm_1')(x)), (2, 2), (2, 2))
    return nn.Dense(self.num_classes, name='head')(x.reshape((x.shape[0], -1)))
