"""G2GNet-style models: an MLP and a small CNN whose hidden feedforward connections are masked.

Which connections are sparse (a choice, stated because the seed text does not say): every connection between
two hidden feature layers is masked; the readout (last Dense, the classes) stays dense, since ten classes cannot
form ensembles and removing readout weights would test the classifier rather than the connectivity; in the CNN the
first convolution (1 or 3 image channels, too few to form ensembles) stays dense as well. The sparsity of a model
is the sparsity of its masked layers (`masked_density` reports the measured value).
"""

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from common.models.mlp import activation as activation_fn
from common.sparsity.layers import MASKS, MaskedConv, MaskedDense


class SparseMLP(nn.Module):
  """Flatten -> masked hidden Dense layers (activation inside) -> dense readout.

  The first hidden layer's inputs (pixels) count as a feedforward layer too, so 64-256-256-10 has two masked
  layers (64x256, 256x256) and a dense 256x10 readout.
  Attributes: hidden widths, out classes, act, and the masking options of MaskedDense.
  Shapes: (B, ...) -> (B, out).
  """

  hidden: Sequence[int] = (256, 256)
  out: int = 10
  act: str = 'relu'
  sparsity: float = 0.0
  topology: str = 'dense'
  num_ensembles: int = 8
  grouping: str = 'index'
  track_correlations: bool = False
  correlation_decay: float = 0.99

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    x = x.reshape((x.shape[0], -1))
    for i, width in enumerate(self.hidden):
      x = MaskedDense(
        width,
        sparsity=self.sparsity,
        topology=self.topology,
        num_ensembles=self.num_ensembles,
        grouping=self.grouping,
        activation=self.act,
        track_correlations=self.track_correlations,
        correlation_decay=self.correlation_decay,
        name=f'dense_{i}',
      )(x, train=train)
    return nn.Dense(self.out, name='head')(x)


class SparseCNN(nn.Module):
  """conv_0 (dense) -> [masked conv -> pool]... -> flatten -> masked Dense layers -> dense readout.

  Attributes:
    channels: conv widths; conv_0 is dense, later convs are masked (channel ensembles); a 2x2 max-pool follows
      every conv from the second on and the first when `pool_first`.
    hidden: widths of the masked Dense layers after the flatten.
    out, act, and the masking options of MaskedDense.
  Shapes: (B, H, W, C) -> (B, out).
  """

  channels: Sequence[int] = (32, 64)
  hidden: Sequence[int] = (256,)
  out: int = 10
  act: str = 'relu'
  pool_first: bool = True
  sparsity: float = 0.0
  topology: str = 'dense'
  num_ensembles: int = 8
  grouping: str = 'index'
  track_correlations: bool = False
  correlation_decay: float = 0.99

  def _masking(self):
    return dict(
      sparsity=self.sparsity,
      topology=self.topology,
      num_ensembles=self.num_ensembles,
      grouping=self.grouping,
      activation=self.act,
      track_correlations=self.track_correlations,
      correlation_decay=self.correlation_decay,
    )

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    fn = activation_fn(self.act)
    for i, width in enumerate(self.channels):
      if i == 0:
        x = fn(nn.Conv(width, (3, 3), padding='SAME', name='conv_0')(x))
      else:
        x = MaskedConv(width, **self._masking(), name=f'conv_{i}')(x, train=train)
      if i > 0 or self.pool_first:
        x = nn.max_pool(x, (2, 2), (2, 2))
    x = x.reshape((x.shape[0], -1))
    for i, width in enumerate(self.hidden):
      x = MaskedDense(width, **self._masking(), name=f'dense_{i}')(x, train=train)
    return nn.Dense(self.out, name='head')(x)


def masked_density(variables) -> jax.Array:
  """Fraction of kept connections over every masked kernel (1.0 when nothing is masked)."""
  leaves = jax.tree_util.tree_leaves(variables.get(MASKS, {}))
  if not leaves:
    return jnp.ones(())
  return sum(jnp.sum(m) for m in leaves) / sum(m.size for m in leaves)
