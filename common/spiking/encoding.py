"""Spike encoders and decoders: Poisson (Bernoulli-per-step) rate coding, and rate read-out.

`poisson_encode` turns intensities in [0, 1] into independent Bernoulli spike trains: at every step a unit
spikes with probability `max_prob * intensity`. With small per-step probabilities this is the discrete-time
Poisson process the spiking literature calls "Poisson encoding". Intensities outside [0, 1] are clipped.
"""

import jax
import jax.numpy as jnp

from common.train.errors import ConfigurationError


def poisson_encode(
  key: jax.Array, intensities: jax.Array, num_steps: int, *, max_prob: float = 1.0, dtype=jnp.float32
) -> jax.Array:
  """Bernoulli spike trains of length `num_steps`: intensities (B, ...) -> spikes (B, num_steps, ...).

  Args:
    key: PRNG key.
    intensities: values in [0, 1] (clipped), e.g. pixel intensities.
    num_steps: number of time steps T (static).
    max_prob: spike probability per step at intensity 1 (the peak rate in spikes/step).
    dtype: dtype of the 0/1 output.
  """
  if int(num_steps) < 1:
    raise ConfigurationError(f'num_steps={num_steps} must be at least 1.')
  if not 0.0 < max_prob <= 1.0:
    raise ConfigurationError(f'max_prob={max_prob} must be in (0, 1] (a spike probability per step).')
  x = jnp.asarray(intensities)
  if x.ndim < 1:
    raise ConfigurationError(f'intensities must have a batch axis (B, ...); got shape {x.shape}.')
  p = jnp.clip(x, 0.0, 1.0) * max_prob
  shape = (x.shape[0], int(num_steps)) + x.shape[1:]
  u = jax.random.uniform(key, shape)
  return (u < p[:, None]).astype(dtype)


def rate_decode(spikes: jax.Array) -> jax.Array:
  """Mean spike count per step along the time axis (axis 1): (B, T, ...) -> (B, ...)."""
  return jnp.mean(spikes, axis=1)
