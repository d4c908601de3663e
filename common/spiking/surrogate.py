"""Spike nonlinearity with surrogate gradients: a Heaviside step forward, a smooth derivative backward.

`spike(x)` is exactly 0/1 in the forward pass (x > 0 spikes) and its JVP uses the derivative of a smooth
stand-in for the step, scaled by `slope`. This is the standard trick for training spiking networks with
backpropagation through time (Neftci, Mostafa & Zenke 2019; SuperSpike, Zenke & Ganguli 2018).

Surrogate derivatives d spike / dx (x is the membrane potential minus the threshold):
  'fast_sigmoid'  1 / (1 + slope |x|)^2                          (SuperSpike)
  'sigmoid'       slope * sig(slope x) * (1 - sig(slope x))
  'atan'          (slope / 2) / (1 + (pi/2 * slope * x)^2)           (Fang et al. 2021)
  'triangle'      slope * max(0, 1 - slope |x|)                     (Bellec et al. 2018, scaled)
"""

import functools
import math

import jax
import jax.numpy as jnp

from common.train.errors import ConfigurationError

SURROGATES = ('fast_sigmoid', 'sigmoid', 'atan', 'triangle')


def check_surrogate(name: str, slope: float) -> None:
  """Raises ConfigurationError for an unknown surrogate name or a non-positive slope."""
  if name not in SURROGATES:
    raise ConfigurationError(f'surrogate={name!r} is unknown; choose one of {SURROGATES}.')
  if not slope > 0:
    raise ConfigurationError(f'slope={slope} must be positive (it sets the width of the surrogate derivative).')


def surrogate_grad(x: jax.Array, name: str = 'fast_sigmoid', slope: float = 25.0) -> jax.Array:
  """The surrogate derivative of the step at `x` (elementwise, same shape as x)."""
  if name == 'fast_sigmoid':
    return 1.0 / (1.0 + slope * jnp.abs(x)) ** 2
  if name == 'sigmoid':
    sig = jax.nn.sigmoid(slope * x)
    return slope * sig * (1.0 - sig)
  if name == 'atan':
    return (slope / 2.0) / (1.0 + (math.pi / 2.0 * slope * x) ** 2)
  if name == 'triangle':
    return slope * jnp.maximum(0.0, 1.0 - slope * jnp.abs(x))
  raise ConfigurationError(f'surrogate={name!r} is unknown; choose one of {SURROGATES}.')


@functools.partial(jax.custom_jvp, nondiff_argnums=(1, 2))
def spike(x: jax.Array, surrogate: str = 'fast_sigmoid', slope: float = 25.0) -> jax.Array:
  """Heaviside(x) in x's dtype (1 where x > 0); gradient = surrogate_grad(x, surrogate, slope)."""
  return (x > 0).astype(x.dtype)


@spike.defjvp
def _spike_jvp(surrogate, slope, primals, tangents):
  (x,), (dx,) = primals, tangents
  return spike(x, surrogate, slope), surrogate_grad(x, surrogate, slope) * dx
