"""Synaptic delays as causal temporal kernels over event streams x (B, T, C) -> currents (B, T, K).

Every layer here computes y[b, t, k] = sum_c sum_{d=0}^{D-1} K[d, c, k] x[b, t - d, c] + bias[k] (zero before
t = 0), i.e. a causal 1-D convolution whose kernel K[d, c, k] says how strongly input c reaches unit k after d
steps. They differ only in how K is built:

  FixedDelayDense    one delay per synapse, fixed: K[d, c, k] = w[c, k] * [d == delay[c, k]]. Delays are drawn
                     uniformly in [0, max_delay) at init (kept in the non-param collection 'delays') or given.
                     max_delay=1 is the delay-free layer.
  DelayKernelDense   the HD-SNN layer of Grimaldi & Perrinet (2023): a free kernel over all D delays per synapse,
                     i.e. every (synapse, delay) pair has its own learned weight ("time-invariant logistic
                     regression" when followed by a sigmoid / softmax).
  DCLSDelayDense     learnable delays by dilated convolution with learnable spacings (Hammouamri, Khalfaoui-Hassani
                     & Masquelier, ICLR 2024): one weight w[c, k] and one continuous position p[c, k] in
                     [0, D-1] per synapse; K[d, c, k] = w[c, k] * g(d - p[c, k]) with g a Gaussian of width sigma
                     normalised over d. sigma is annealed from sigma_start to sigma_end over `anneal_steps`
                     training calls (a counter in the collection 'dcls'); at the end the kernel is nearly a single
                     tap, i.e. an (interpolated) delay.

Deviation from DCLS: the paper keeps sigma in the optimiser schedule and rounds positions to integer delays for
the final evaluation; here sigma follows the module's own counter and no rounding is done (call
`DCLSDelayDense.hard_delays` to read the rounded delays).
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from common.train.errors import ConfigurationError


def check_max_delay(max_delay: int) -> None:
  if int(max_delay) < 1:
    raise ConfigurationError(f'max_delay={max_delay} must be at least 1 (1 = no delays; D taps 0..D-1).')


def check_delays(delays: np.ndarray, max_delay: int) -> None:
  d = np.asarray(delays)
  if d.size and d.min() < 0:
    raise ConfigurationError(f'delays must be non-negative (causal); got minimum {d.min()}. Use delays >= 0.')
  if d.size and d.max() >= max_delay:
    raise ConfigurationError(f'delays must be below max_delay={max_delay}; got maximum {d.max()}.')


def causal_conv(x: jax.Array, kernel: jax.Array) -> jax.Array:
  """y[b, t, k] = sum_{d, c} kernel[d, c, k] x[b, t - d, c]: x (B, T, C), kernel (D, C, K) -> (B, T, K)."""
  if x.ndim != 3:
    raise ConfigurationError(f'delay layers expect event streams (B, T, C); got shape {x.shape}.')
  depth = kernel.shape[0]
  # conv_general_dilated is a cross-correlation; flip the kernel so tap d reads x[t - d], pad on the left only.
  return jax.lax.conv_general_dilated(
    x,
    kernel[::-1],
    window_strides=(1,),
    padding=[(depth - 1, 0)],
    dimension_numbers=('NWC', 'WIO', 'NWC'),
  )


def _bias(module, features):
  return module.param('bias', nn.initializers.zeros, (features,))


class FixedDelayDense(nn.Module):
  """One fixed (random or given) delay per synapse, learned weights. x (B, T, C) -> (B, T, features).

  Attributes:
    features: number of output units.
    max_delay: D; delays lie in [0, D). D = 1 means no delays.
    delays: optional (C, features) integer array of delays; otherwise drawn uniformly at init.
  """

  features: int
  max_delay: int = 1
  delays: np.ndarray | None = None

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    check_max_delay(self.max_delay)
    c = x.shape[-1]
    if self.delays is not None:
      check_delays(self.delays, self.max_delay)
      if np.shape(self.delays) != (c, self.features):
        raise ConfigurationError(
          f'delays has shape {np.shape(self.delays)}; expected (C={c}, features={self.features}).'
        )
      delays = jnp.asarray(self.delays, jnp.int32)
    else:
      var = self.variable(
        'delays',
        'delay',
        lambda: jax.random.randint(self.make_rng('params'), (c, self.features), 0, self.max_delay),
      )
      delays = var.value
    w = self.param('kernel', nn.initializers.lecun_normal(), (c, self.features))
    taps = jax.nn.one_hot(delays, self.max_delay, axis=0, dtype=x.dtype)  # (D, C, K)
    return causal_conv(x, taps * w) + _bias(self, self.features)


class DelayKernelDense(nn.Module):
  """HD-SNN layer: a learned weight for every (synapse, delay). x (B, T, C) -> (B, T, features).

  Attributes:
    features: number of output units.
    max_delay: D, the kernel depth in steps.
  """

  features: int
  max_delay: int = 8

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    check_max_delay(self.max_delay)
    c = x.shape[-1]
    init = nn.initializers.variance_scaling(1.0, 'fan_in', 'truncated_normal', in_axis=(0, 1), out_axis=2)
    kernel = self.param('kernel', init, (self.max_delay, c, self.features))
    return causal_conv(x, kernel) + _bias(self, self.features)


class DCLSDelayDense(nn.Module):
  """Learnable per-synapse delays with Gaussian-interpolated positions (DCLS). x (B, T, C) -> (B, T, features).

  Attributes:
    features: number of output units.
    max_delay: D; positions are clipped to [0, D - 1].
    sigma_start, sigma_end: Gaussian width at the start and end of the annealing (steps).
    anneal_steps: number of training calls over which sigma decays linearly.
    position_lr_scale: positions are stored divided by this factor, which multiplies their effective learning
      rate under Adam-like optimisers by it (DCLS trains positions with a larger learning rate than weights).
  """

  features: int
  max_delay: int = 8
  sigma_start: float | None = None
  sigma_end: float = 0.5
  anneal_steps: int = 1000
  position_lr_scale: float = 1.0

  def _sigma(self, counter):
    start = self.sigma_start if self.sigma_start is not None else max(self.max_delay / 2.0, self.sigma_end)
    frac = jnp.clip(counter / max(self.anneal_steps, 1), 0.0, 1.0)
    return start + (self.sigma_end - start) * frac

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    check_max_delay(self.max_delay)
    if not self.sigma_end > 0:
      raise ConfigurationError(f'sigma_end={self.sigma_end} must be positive.')
    c = x.shape[-1]
    d = self.max_delay
    w = self.param('kernel', nn.initializers.lecun_normal(), (c, self.features))
    if not self.position_lr_scale > 0:
      raise ConfigurationError(f'position_lr_scale={self.position_lr_scale} must be positive.')
    scale = float(self.position_lr_scale)
    raw = self.param(
      'position', lambda k, s: jax.random.uniform(k, s, jnp.float32, 0.0, float(d - 1)) / scale, (c, self.features)
    )
    pos = raw * scale
    counter = self.variable('dcls', 'step', lambda: jnp.zeros((), jnp.float32))
    sigma = self._sigma(counter.value)
    p = jnp.clip(pos, 0.0, float(d - 1))
    taps = jnp.arange(d, dtype=jnp.float32)[:, None, None]
    g = jnp.exp(-0.5 * ((taps - p) / sigma) ** 2)
    g = g / (jnp.sum(g, axis=0, keepdims=True) + 1e-8)
    if train and self.is_mutable_collection('dcls') and not self.is_initializing():
      counter.value = counter.value + 1.0
    return causal_conv(x, g * w) + _bias(self, self.features)

  @staticmethod
  def hard_delays(params, position_lr_scale: float = 1.0) -> jax.Array:
    """Rounded integer delays (C, features) from this layer's params."""
    return jnp.round(params['position'] * position_lr_scale).astype(jnp.int32)
