"""Masked Dense and Conv layers: a connectivity mask kept as model state, and optional Hebbian co-activity.

The mask lives in the non-parameter collection 'masks' ({layer: {'kernel': mask}}, same shape as the kernel), so
it is checkpointed with the model, resumes bitwise, and can be rewritten between steps by dynamic sparse training
(common/sparsity/dst.py) without touching the parameter tree. The forward pass uses kernel * mask, so a pruned
weight has zero gradient and no effect; its stored value is irrelevant (DST zeroes a weight when it regrows).

With `track_correlations`, a layer keeps exponential moving averages of its pre- and post-synaptic activity in
the collection 'hebbian' during training steps: mean and second moment of every input and output unit and the
(n_in, n_out) cross moment, from which `correlation` gives the Pearson correlation of every pre/post pair (the
Hebbian regrowth score). Post-synaptic activity is the layer's output after its activation. For a conv layer,
units are channels, and the pre-synaptic activity of an output position is the input at the same position (the
kernel's centre tap; 'SAME' padding, stride 1), so one correlation serves every tap of a channel pair.

Initialisation: truncated normal with variance 1 / (density * fan_in) (LeCun normal for the connections that
exist), so a sparse layer starts with the output scale of a dense one; the bias starts at zero.
"""

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from common.models.mlp import activation as activation_fn
from common.sparsity import masks as masks_lib
from common.train.errors import ConfigurationError

MASKS = 'masks'
HEBBIAN = 'hebbian'
TOPOLOGIES = ('dense', 'random', 'g2g')


def check_topology(owner: str, topology: str, sparsity: float) -> None:
  if topology not in TOPOLOGIES:
    raise ConfigurationError(f'{owner}.topology={topology!r} must be one of {TOPOLOGIES}.')
  masks_lib.check_density(owner, sparsity)
  if topology == 'dense' and sparsity:
    raise ConfigurationError(
      f"{owner}.topology='dense' with sparsity={sparsity}: a dense layer has no removed weights; set sparsity=0 or "
      "topology='random' / 'g2g'."
    )


def channel_mask(
  key: jax.Array, num_in: int, num_out: int, *, topology: str, sparsity: float, num_ensembles: int, grouping: str
) -> jax.Array:
  """(num_in, num_out) mask of topology 'g2g' or 'random'."""
  if topology == 'g2g':
    return masks_lib.g2g_mask(key, num_in, num_out, sparsity=sparsity, num_ensembles=num_ensembles, grouping=grouping)
  return masks_lib.random_mask(key, (num_in, num_out), sparsity=sparsity)


def init_correlation_stats(num_in: int, num_out: int) -> dict[str, jax.Array]:
  zeros = lambda *shape: jnp.zeros(shape, jnp.float32)  # noqa: E731
  return {
    'count': jnp.zeros((), jnp.int32),
    'mean_pre': zeros(num_in),
    'mean_post': zeros(num_out),
    'sq_pre': zeros(num_in),
    'sq_post': zeros(num_out),
    'cross': zeros(num_in, num_out),
  }


def update_correlation_stats(stats, pre: jax.Array, post: jax.Array, decay: float):
  """Moving averages of one batch: pre (R, n_in) and post (R, n_out) activity, R rows (examples x positions)."""
  rows = pre.shape[0]
  batch = {
    'mean_pre': jnp.mean(pre, 0),
    'mean_post': jnp.mean(post, 0),
    'sq_pre': jnp.mean(pre**2, 0),
    'sq_post': jnp.mean(post**2, 0),
    'cross': pre.T @ post / rows,
  }
  new = {k: decay * stats[k] + (1.0 - decay) * v for k, v in batch.items()}
  return {**new, 'count': stats['count'] + 1}


def correlation(stats, decay: float, eps: float = 1e-8) -> jax.Array:
  """(n_in, n_out) Pearson correlation of every pre/post pair from the moving averages (bias-corrected)."""
  correction = 1.0 - decay ** jnp.maximum(stats['count'], 1).astype(jnp.float32)
  m = {k: stats[k] / correction for k in ('mean_pre', 'mean_post', 'sq_pre', 'sq_post', 'cross')}
  cov = m['cross'] - m['mean_pre'][:, None] * m['mean_post'][None, :]
  var_pre = jnp.maximum(m['sq_pre'] - m['mean_pre'] ** 2, 0.0)
  var_post = jnp.maximum(m['sq_post'] - m['mean_post'] ** 2, 0.0)
  return cov / jnp.sqrt(var_pre[:, None] * var_post[None, :] + eps)


def _sparse_lecun_normal(density: float):
  return nn.initializers.variance_scaling(1.0 / density, 'fan_in', 'truncated_normal')


class _MaskedBase(nn.Module):
  """Shared fields (see MaskedDense)."""

  features: int
  sparsity: float = 0.0
  topology: str = 'dense'
  num_ensembles: int = 8
  grouping: str = 'index'
  activation: str | None = None
  track_correlations: bool = False
  correlation_decay: float = 0.99
  use_bias: bool = True

  def _check(self):
    owner = type(self).__name__
    check_topology(owner, self.topology, self.sparsity)
    if not 0.0 <= self.correlation_decay < 1.0:
      raise ConfigurationError(f'{owner}.correlation_decay={self.correlation_decay} must lie in [0, 1).')

  def _mask(self, kernel_shape, num_in: int, num_out: int):
    """The 'masks' variable; None for a dense layer (nothing is removed, so DST leaves it alone)."""
    if self.topology == 'dense':
      return None

    def init():
      ch = channel_mask(
        self.make_rng('params'),
        num_in,
        num_out,
        topology=self.topology,
        sparsity=self.sparsity,
        num_ensembles=self.num_ensembles,
        grouping=self.grouping,
      )
      return jnp.broadcast_to(ch, kernel_shape).astype(jnp.float32)

    if self.topology == 'random' and len(kernel_shape) > 2:
      # A random conv mask is drawn over every tap, not per channel pair.
      init = lambda: masks_lib.random_mask(self.make_rng('params'), kernel_shape, sparsity=self.sparsity)  # noqa: E731
    return self.variable(MASKS, 'kernel', init)

  def _post(self, pre: jax.Array, y: jax.Array, train: bool) -> jax.Array:
    out = activation_fn(self.activation)(y) if self.activation else y
    if self.track_correlations:
      stats = self.variable(HEBBIAN, 'stats', init_correlation_stats, pre.shape[-1], out.shape[-1])
      if train and self.is_mutable_collection(HEBBIAN) and not self.is_initializing():
        rows_pre = jax.lax.stop_gradient(pre.reshape(-1, pre.shape[-1]))
        rows_post = jax.lax.stop_gradient(out.reshape(-1, out.shape[-1]))
        stats.value = update_correlation_stats(stats.value, rows_pre, rows_post, self.correlation_decay)
    return out


class MaskedDense(_MaskedBase):
  """y = act(x @ (kernel * mask) + bias); mask from `topology` ('dense', 'random', 'g2g').

  Attributes:
    features: output width.
    sparsity: fraction of the kernel removed (0 for 'dense').
    topology: 'dense', 'random' (exact count, uniform positions) or 'g2g' (ensemble blocks, masks.py).
    num_ensembles, grouping: the G2G partition (G equal ensembles on both sides; 'index' or 'random').
    activation: name from common.models.mlp.ACTIVATIONS applied inside the layer (None: linear), so the Hebbian
      statistics see the post-synaptic activity.
    track_correlations, correlation_decay: keep pre/post moving averages in 'hebbian' (Hebbian regrowth).
  Shapes: (..., n_in) -> (..., features).
  """

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    self._check()
    n_in = x.shape[-1]
    density = 1.0 - self.sparsity
    kernel = self.param('kernel', _sparse_lecun_normal(density), (n_in, self.features))
    mask = self._mask(kernel.shape, n_in, self.features)
    y = x @ (kernel * mask.value if mask is not None else kernel)
    if self.use_bias:
      y = y + self.param('bias', nn.initializers.zeros, (self.features,))
    return self._post(x, y, train)


class MaskedConv(_MaskedBase):
  """A 'SAME', stride-1 convolution whose (kh, kw, C_in, C_out) kernel is masked; G2G masks whole channel pairs.

  Attributes: as MaskedDense, plus kernel_size. Shapes: (B, H, W, C_in) -> (B, H, W, features).
  """

  kernel_size: Sequence[int] = (3, 3)

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    self._check()
    c_in = x.shape[-1]
    density = 1.0 - self.sparsity
    shape = (*self.kernel_size, c_in, self.features)
    kernel = self.param('kernel', _sparse_lecun_normal(density), shape)
    mask = self._mask(shape, c_in, self.features)
    w = kernel * mask.value if mask is not None else kernel
    y = jax.lax.conv_general_dilated(x, w, (1, 1), 'SAME', dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
    if self.use_bias:
      y = y + self.param('bias', nn.initializers.zeros, (self.features,))
    return self._post(x, y, train)
