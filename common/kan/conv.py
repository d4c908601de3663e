"""KAN convolutions: every kernel entry is a learnable univariate function, and S-ConvKAN's selectable version.

A KAN convolution (ConvKAN, Bodner et al. 2024) replaces each kernel weight w[p, c, o] (kernel position p, input
channel c, output channel o) by an edge function phi_{pco} applied to the pixel under it:

    y[o] = sum_{p, c} phi_{pco}(x[p, c]) + bias[o]
    phi(x) = scale_base b(x) + scale_sp sum_m coef_m B_m(x)                          KANConv (one basis)
    phi(x) = scale_base b(x) + scale_sp sum_k a_k sum_m coef^k_m B^k_m(x)             SKANConv (S-ConvKAN)
    a = softmax over the active spaces of logits[pc, o, :]   (S-KAN's mixture, common/kan/skan.py)

Computed basis-first: b(x) and every basis value are elementwise in x, so they are evaluated once on the padded
feature map (B, H, W, C) and concatenated basis-major along channels into (B, H, W, (1 + sum_k M_k) C); the edge
functions then become ONE ordinary convolution with the kernel (kh, kw, (1 + sum_k M_k) C, out) assembled from the
parameters. No patch tensor (B, H', W', kh kw C, M) is formed, and XLA's convolution does the contraction.

Parameters are shaped like the dense layers' with in = kh * kw * C (flattened in that order): coef (in, M, out),
scale_base and scale_sp (in, out), S-ConvKAN's logits (in, out, K) and its 0/1 mask in the 'skan_mask' collection,
so common.kan.skan.select_mask / apply_selection and train_skan's three phases (full, selective, pruned) work on an
SKANConv unchanged. Selection 'node' granularity averages over a node's kh * kw * C incoming edges.

Choices, stated (no S-ConvKAN code was available; shared/research/module_anchors.md):
- One grid per input channel, shared by the kernel positions (a pixel's basis values do not depend on the patch it
  is in); stored in 'kan_grid' as (C, n_grid). Grid updates (common/kan/grid.py) do not touch these layers.
- 'SAME' padding pads the input with zeros before the basis (the edge functions see x = 0 at the border, as in
  unfold-based ConvKANs), so a border pixel contributes phi(0), not 0.
- Initialisation as KANDense / SKANDense (pykan's) with fan-in kh * kw * C.
"""

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from common.kan import bases as bases_lib
from common.kan.layers import BASE_ACTIVATIONS, GRID_COLLECTION, init_coefficients
from common.kan.skan import DEFAULT_POOL, MASK_COLLECTION
from common.train.errors import ConfigurationError

PADDINGS = ('SAME', 'VALID')


def _pair(v) -> tuple[int, int]:
  return (int(v), int(v)) if isinstance(v, int) else tuple(int(a) for a in v)


def _check_conv(owner: str, features: int, kernel_size, strides, padding) -> None:
  if features < 1:
    raise ConfigurationError(f'{owner}.features={features} must be at least 1.')
  if min(_pair(kernel_size)) < 1 or min(_pair(strides)) < 1:
    raise ConfigurationError(f'{owner}: kernel_size={kernel_size} and strides={strides} must be positive.')
  if padding not in PADDINGS:
    raise ConfigurationError(f'{owner}.padding={padding!r} must be one of {PADDINGS}.')


def pad_input(x: jax.Array, kernel_size, padding: str) -> jax.Array:
  """Zero-pads (B, H, W, C) so that a VALID convolution gives the requested padding's output size (stride 1 SAME)."""
  if padding == 'VALID':
    return x
  kh, kw = _pair(kernel_size)
  return jnp.pad(x, ((0, 0), ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2), (0, 0)))


def conv_valid(feats: jax.Array, kernel: jax.Array, strides) -> jax.Array:
  """NHWC x HWIO -> NHWC, VALID padding."""
  return jax.lax.conv_general_dilated(
    feats, kernel, _pair(strides), 'VALID', dimension_numbers=('NHWC', 'HWIO', 'NHWC')
  )


def basis_kernel(coef: jax.Array, scale: jax.Array, kernel_size, channels: int) -> jax.Array:
  """coef (in, M, out) times scale (in, out) -> the kernel slice (kh, kw, M * C, out) matching basis-major channels
  (channel index m * C + c), in = kh * kw * C."""
  kh, kw = _pair(kernel_size)
  m, out = coef.shape[1], coef.shape[2]
  k = (coef * scale[:, None, :]).reshape(kh, kw, channels, m, out)
  return jnp.swapaxes(k, 2, 3).reshape(kh, kw, m * channels, out)


class _EdgeConv(nn.Module):
  """Shared parts of KANConv and SKANConv (grids, scales, base branch, the convolution)."""

  def grid(self, name: str, spec: bases_lib.BasisSpec, channels: int, var: str) -> jax.Array:
    return self.variable(
      GRID_COLLECTION, var, lambda: spec.initial_grid(channels, self.grid_size, self.order, tuple(self.grid_range))
    ).value

  def scales(self, fan_in: int):
    scale_base = self.param(
      'scale_base',
      lambda key, s: jax.random.uniform(key, s, minval=-1.0, maxval=1.0) / jnp.sqrt(fan_in),
      (fan_in, self.features),
    )
    scale_sp = self.param('scale_sp', nn.initializers.constant(1.0 / fan_in**0.5), (fan_in, self.features))
    return scale_base, scale_sp

  def coefficients(self, name: str, param: str, fan_in: int, m: int) -> jax.Array:
    def init(key, shape):
      noise = (jax.random.uniform(key, (self.grid_size + 1, fan_in, self.features)) - 0.5) * self.noise_scale
      return init_coefficients(name, self.grid_size, self.order, self.grid_range, noise / self.grid_size)

    return self.param(param, init, (fan_in, m, self.features))

  def finish(self, terms: list, kernels: list) -> jax.Array:
    y = conv_valid(jnp.concatenate(terms, axis=-1), jnp.concatenate(kernels, axis=2), self.strides)
    if self.use_bias:
      y = y + self.param('bias', nn.initializers.zeros_init(), (self.features,))
    return y


class KANConv(_EdgeConv):
  """A KAN convolution with one basis: (B, H, W, C) -> (B, H', W', features).

  Attributes:
    features: output channels. kernel_size, strides: ints or pairs. padding: 'SAME' or 'VALID'.
    basis, grid_size, order, grid_range, noise_scale, base_activation, use_bias: as KANDense.
  """

  features: int
  kernel_size: int | Sequence[int] = 3
  strides: int | Sequence[int] = 1
  padding: str = 'SAME'
  basis: str = 'bspline'
  grid_size: int = 5
  order: int = 3
  grid_range: Sequence[float] = (-1.0, 1.0)
  noise_scale: float = 0.3
  base_activation: str = 'silu'
  use_bias: bool = True

  def __post_init__(self):
    _check_conv('KANConv', self.features, self.kernel_size, self.strides, self.padding)
    bases_lib.check_grid(self.basis, self.grid_size, self.order, self.grid_range, owner='KANConv')
    if self.base_activation not in BASE_ACTIVATIONS:
      raise ConfigurationError(
        f'KANConv.base_activation={self.base_activation!r}; use one of {sorted(BASE_ACTIVATIONS)}.'
      )
    super().__post_init__()

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    if x.ndim != 4:
      raise ConfigurationError(f'KANConv expects (B, H, W, C) inputs; got shape {x.shape}.')
    channels = x.shape[-1]
    kh, kw = _pair(self.kernel_size)
    fan_in, spec = kh * kw * channels, bases_lib.get_basis(self.basis)
    m = spec.num_basis(self.grid_size, self.order)
    grid = self.grid(self.basis, spec, channels, 'grid')
    coef = self.coefficients(self.basis, 'coef', fan_in, m)
    scale_base, scale_sp = self.scales(fan_in)
    xp = pad_input(x, self.kernel_size, self.padding)
    terms = [BASE_ACTIVATIONS[self.base_activation](xp)] + spec.terms(xp, grid, self.grid_size, self.order)
    kernels = [scale_base.reshape(kh, kw, channels, self.features), basis_kernel(coef, scale_sp, (kh, kw), channels)]
    return self.finish(terms, kernels)


class SKANConv(_EdgeConv):
  """S-ConvKAN's convolution: every edge a softmax mixture over a pool of bases; (B, H, W, C) -> (B, H', W', out).

  Attributes:
    features, kernel_size, strides, padding: as KANConv. pool: basis names (at least one, no repeats).
    grid_size, order, grid_range, noise_scale, base_activation, use_bias: shared by the pool (as SKANDense).
  """

  features: int
  kernel_size: int | Sequence[int] = 3
  strides: int | Sequence[int] = 1
  padding: str = 'SAME'
  pool: Sequence[str] = DEFAULT_POOL
  grid_size: int = 5
  order: int = 3
  grid_range: Sequence[float] = (-1.0, 1.0)
  noise_scale: float = 0.3
  base_activation: str = 'silu'
  use_bias: bool = True

  def __post_init__(self):
    _check_conv('SKANConv', self.features, self.kernel_size, self.strides, self.padding)
    if not self.pool or len(set(self.pool)) != len(self.pool):
      raise ConfigurationError(f'SKANConv.pool={tuple(self.pool)} must name at least one basis, each once.')
    for name in self.pool:
      bases_lib.check_grid(name, self.grid_size, self.order, self.grid_range, owner='SKANConv')
    if self.base_activation not in BASE_ACTIVATIONS:
      raise ConfigurationError(
        f'SKANConv.base_activation={self.base_activation!r}; use one of {sorted(BASE_ACTIVATIONS)}.'
      )
    super().__post_init__()

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    if x.ndim != 4:
      raise ConfigurationError(f'SKANConv expects (B, H, W, C) inputs; got shape {x.shape}.')
    channels, k = x.shape[-1], len(self.pool)
    kh, kw = _pair(self.kernel_size)
    fan_in = kh * kw * channels
    logits = self.param('logits', nn.initializers.zeros_init(), (fan_in, self.features, k))
    mask = self.variable(MASK_COLLECTION, 'mask', lambda: jnp.ones((fan_in, self.features, k), jnp.float32)).value
    mix = jax.nn.softmax(jnp.where(mask > 0, logits, -1e30), axis=-1) * mask  # (in, out, K)
    scale_base, scale_sp = self.scales(fan_in)
    xp = pad_input(x, self.kernel_size, self.padding)
    terms = [BASE_ACTIVATIONS[self.base_activation](xp)]
    kernels = [scale_base.reshape(kh, kw, channels, self.features)]
    for b, name in enumerate(self.pool):
      spec = bases_lib.get_basis(name)
      grid = self.grid(name, spec, channels, f'grid_{name}')
      coef = self.coefficients(name, f'coef_{name}', fan_in, spec.num_basis(self.grid_size, self.order))
      terms += spec.terms(xp, grid, self.grid_size, self.order)
      kernels.append(basis_kernel(coef, scale_sp * mix[..., b], (kh, kw), channels))
    return self.finish(terms, kernels)


LAYERS = ('conv', 'kan', 'skan')


class ConvClassifier(nn.Module):
  """A small image classifier whose convolutions are plain, KAN or S-KAN; (B, H, W, C) -> (B, num_classes).

  Each stage: convolution (kernel_size, 'SAME') -> [conv: activation] -> 2x2 average pooling -> [kan/skan: a
  parameter-free LayerNorm over channels, which keeps the next layer's inputs on the grid]; then (optionally a
  global average pool,) flatten and a head of the same kind: a 1x1 convolution on the flattened map, i.e. a Dense,
  KANDense or SKANDense layer. The paper's architecture was not available; this one is our choice.

  Attributes:
    layer: 'conv' (the CNN baseline), 'kan' (single-basis ConvKAN, `basis`) or 'skan' (S-ConvKAN, `pool`).
    channels: output channels per stage. kernel_size: square kernel size. num_classes: head width.
    basis: the ConvKAN's basis. pool: S-ConvKAN's pool (train_skan reads model.pool).
    grid_size, order, grid_range: KAN grid settings. activation: the CNN's nonlinearity ('relu', 'silu').
    pool_window: average-pooling window after every stage (1 = none).
    global_pool: average the last stage over space before the head (the head then sees channels[-1] inputs).
  """

  layer: str = 'skan'
  channels: Sequence[int] = (8, 16)
  kernel_size: int = 3
  num_classes: int = 10
  basis: str = 'bspline'
  pool: Sequence[str] = DEFAULT_POOL
  grid_size: int = 5
  order: int = 3
  grid_range: Sequence[float] = (-1.0, 1.0)
  activation: str = 'relu'
  pool_window: int = 2
  global_pool: bool = False

  def __post_init__(self):
    if self.layer not in LAYERS:
      raise ConfigurationError(f'ConvClassifier.layer={self.layer!r} must be one of {LAYERS}.')
    if not self.channels or min(self.channels) < 1:
      raise ConfigurationError(f'ConvClassifier.channels={tuple(self.channels)} must be positive channel counts.')
    if self.activation not in ('relu', 'silu'):
      raise ConfigurationError(f"ConvClassifier.activation={self.activation!r} must be 'relu' or 'silu'.")
    if self.pool_window < 1:
      raise ConfigurationError(f'ConvClassifier.pool_window={self.pool_window} must be at least 1.')
    super().__post_init__()

  def _conv(self, features: int, kernel_size: int, name: str, padding: str = 'SAME'):
    kan = dict(grid_size=self.grid_size, order=self.order, grid_range=tuple(self.grid_range))
    if self.layer == 'kan':
      return KANConv(features, kernel_size, padding=padding, basis=self.basis, name=name, **kan)
    if self.layer == 'skan':
      return SKANConv(features, kernel_size, padding=padding, pool=tuple(self.pool), name=name, **kan)
    return nn.Conv(features, (kernel_size, kernel_size), padding=padding, name=name)

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    del train
    if x.ndim == 3:
      x = x[..., None]
    act = {'relu': nn.relu, 'silu': nn.silu}[self.activation]
    for i, c in enumerate(self.channels):
      x = self._conv(c, self.kernel_size, f'conv_{i}')(x)
      if self.layer == 'conv':
        x = act(x)
      if self.pool_window > 1:
        w = (self.pool_window, self.pool_window)
        x = nn.avg_pool(x, w, w)
      if self.layer != 'conv':
        x = nn.LayerNorm(use_bias=False, use_scale=False)(x)
    if self.global_pool:
      x = jnp.mean(x, axis=(1, 2), keepdims=True)
    x = x.reshape(x.shape[0], 1, 1, -1)  # the head as a 1x1 convolution on the flattened map
    return self._conv(self.num_classes, 1, 'head', padding='VALID')(x).reshape(x.shape[0], self.num_classes)


def edge_params(layer: str, basis: str, pool: Sequence[str], grid_size: int, order: int) -> int:
  """Parameters per edge (kernel entry): 1 for a convolution; M + 2 (coefficients, scale_base, scale_sp) for a
  KAN; K + 2 + sum_k M_k (mixture logits too) for an S-KAN."""
  if layer == 'conv':
    return 1
  if layer == 'kan':
    return bases_lib.get_basis(basis).num_basis(grid_size, order) + 2
  return len(pool) + 2 + sum(bases_lib.get_basis(b).num_basis(grid_size, order) for b in pool)


def classifier_params(
  layer: str,
  channels: Sequence[int],
  input_shape: Sequence[int] = (8, 8, 1),
  *,
  kernel_size: int = 3,
  num_classes: int = 10,
  basis: str = 'bspline',
  pool: Sequence[str] = DEFAULT_POOL,
  grid_size: int = 5,
  order: int = 3,
  pool_window: int = 2,
  global_pool: bool = False,
) -> int:
  """The parameter count of ConvClassifier(layer, channels, ...) on (H, W, C) inputs, without building it."""
  per_edge = edge_params(layer, basis, pool, grid_size, order)
  h, w, c = input_shape
  total = 0
  for out in channels:
    total += kernel_size * kernel_size * c * out * per_edge + out  # edges + bias
    h, w, c = h // pool_window, w // pool_window, out
  if global_pool:
    h = w = 1
  return total + h * w * c * num_classes * per_edge + num_classes


def matched_channels(
  target: int, layer: str, reference: Sequence[int], input_shape: Sequence[int] = (8, 8, 1), **kwargs
) -> tuple[int, ...]:
  """Channels proportional to `reference` (each round(f * reference), at least 1) whose ConvClassifier parameter
  count is closest to `target`: how the CNN and single-basis ConvKAN baselines are matched to an S-ConvKAN."""
  best, best_gap = tuple(reference), None
  for step in range(1, 4001):
    f = step / 100.0
    ch = tuple(max(1, round(f * r)) for r in reference)
    gap = abs(classifier_params(layer, ch, input_shape, **kwargs) - target)
    if best_gap is None or gap < best_gap:
      best, best_gap = ch, gap
  return best


def matched_to_skan(
  layer: str,
  skan_channels: Sequence[int],
  input_shape: Sequence[int] = (8, 8, 1),
  *,
  basis: str = 'bspline',
  pool: Sequence[str] = DEFAULT_POOL,
  **kwargs,
) -> tuple[int, ...]:
  """Channels for a `layer` ('conv' or 'kan' with `basis`) classifier matched to the S-ConvKAN with skan_channels
  and `pool` (gin: `ConvClassifier.channels = @conv.matched_to_skan()`)."""
  target = classifier_params('skan', skan_channels, input_shape, pool=pool, **kwargs)
  return matched_channels(target, layer, skan_channels, input_shape, basis=basis, pool=pool, **kwargs)
