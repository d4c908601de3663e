"""Synthetic event streams for delay learning (traceable, generated on device from a key).

drifting_texture_batch(key, batch, size, num_steps, num_directions, speed, threshold, noise)
  A smooth random texture on a size x size torus drifts in one of `num_directions` directions at `speed` pixels
  per step (sub-pixel shifts are exact: the texture is translated by a phase ramp in Fourier space). Events are
  DVS-like: ON where the intensity rose by more than `threshold` since the previous step, OFF where it fell; plus
  random noise events with probability `noise` per channel and step. Returns inputs (B, T, 2 * size * size) in
  {0, 1} (ON channels first) and targets (B,) the direction index. Every direction has the same speed, so event
  rates do not reveal the direction; only the spatio-temporal order of events does.

delay_motif_batch(key, batch, num_channels, num_steps, num_classes, motif_channels, max_offset, rate)
  Poisson background at `rate`; each example contains one motif: the same `motif_channels` channels spike once
  each, at class-specific relative offsets in [0, max_offset) (fixed per class by `motif_seed`), starting at a
  random time. Classes differ only in relative spike timing, not in which channels fire or how often.
"""

import jax
import jax.numpy as jnp
import numpy as np

from common.train.errors import ConfigurationError


def _smooth_texture_spectrum(key, batch, size, cutoff):
  k = jnp.fft.fftfreq(size)
  radius = jnp.sqrt(k[:, None] ** 2 + k[None, :] ** 2)
  envelope = jnp.exp(-0.5 * (radius / cutoff) ** 2)
  k_re, k_im = jax.random.split(key)
  noise = jax.random.normal(k_re, (batch, size, size)) + 1j * jax.random.normal(k_im, (batch, size, size))
  spectrum = noise * envelope
  return spectrum.at[:, 0, 0].set(0.0)


def drifting_texture_batch(
  key,
  batch: int,
  size: int = 16,
  num_steps: int = 24,
  num_directions: int = 8,
  speed: float = 1.0,
  threshold: float = 0.6,
  noise: float = 0.01,
  cutoff: float = 0.12,
) -> dict:
  if num_directions < 2:
    raise ConfigurationError(f'num_directions={num_directions} must be at least 2.')
  if num_steps < 2:
    raise ConfigurationError(f'num_steps={num_steps} must be at least 2 (events are differences of frames).')
  k_tex, k_dir, k_noise = jax.random.split(key, 3)
  spectrum = _smooth_texture_spectrum(k_tex, batch, size, cutoff)
  direction = jax.random.randint(k_dir, (batch,), 0, num_directions)
  angle = 2 * jnp.pi * direction / num_directions
  vy, vx = speed * jnp.sin(angle), speed * jnp.cos(angle)
  f = jnp.fft.fftfreq(size)
  t = jnp.arange(num_steps + 1, dtype=jnp.float32)
  # Translation by (vy t, vx t): multiply the spectrum by exp(-2 pi i (fy vy t + fx vx t)).
  phase = f[None, None, :, None] * vy[:, None, None, None] * t[None, :, None, None]
  phase = phase + f[None, None, None, :] * vx[:, None, None, None] * t[None, :, None, None]
  frames = jnp.real(jnp.fft.ifft2(spectrum[:, None] * jnp.exp(-2j * jnp.pi * phase)))  # (B, T+1, size, size)
  frames = frames / (jnp.std(frames[:, :1], axis=(1, 2, 3), keepdims=True) + 1e-6)
  diff = frames[:, 1:] - frames[:, :-1]
  on, off = (diff > threshold), (diff < -threshold)
  events = jnp.concatenate([on.reshape(batch, num_steps, -1), off.reshape(batch, num_steps, -1)], axis=-1)
  flips = jax.random.bernoulli(k_noise, noise, events.shape)
  return {'inputs': jnp.logical_or(events, flips).astype(jnp.float32), 'targets': direction.astype(jnp.int32)}


def motif_offsets(num_classes: int, motif_channels: int, max_offset: int, seed: int = 0) -> np.ndarray:
  """(num_classes, motif_channels) distinct integer offset patterns in [0, max_offset)."""
  if max_offset < 2:
    raise ConfigurationError(f'max_offset={max_offset} must be at least 2 for timing to carry information.')
  rng = np.random.default_rng(seed)
  return rng.integers(0, max_offset, size=(num_classes, motif_channels)).astype(np.int32)


def delay_motif_batch(
  key,
  batch: int,
  num_channels: int = 32,
  num_steps: int = 40,
  num_classes: int = 4,
  motif_channels: int = 8,
  max_offset: int = 10,
  rate: float = 0.02,
  motif_seed: int = 0,
) -> dict:
  if motif_channels > num_channels:
    raise ConfigurationError(f'motif_channels={motif_channels} must be at most num_channels={num_channels}.')
  if max_offset >= num_steps:
    raise ConfigurationError(f'max_offset={max_offset} must be below num_steps={num_steps}.')
  offsets = jnp.asarray(motif_offsets(num_classes, motif_channels, max_offset, motif_seed))
  k_bg, k_cls, k_t0 = jax.random.split(key, 3)
  labels = jax.random.randint(k_cls, (batch,), 0, num_classes)
  t0 = jax.random.randint(k_t0, (batch,), 0, num_steps - max_offset)
  times = t0[:, None] + offsets[labels]  # (B, motif_channels)
  motif = jax.nn.one_hot(times, num_steps, axis=1)  # (B, T, motif_channels)
  motif = jnp.pad(motif, ((0, 0), (0, 0), (0, num_channels - motif_channels)))
  background = jax.random.bernoulli(k_bg, rate, (batch, num_steps, num_channels))
  return {'inputs': jnp.maximum(motif, background.astype(jnp.float32)), 'targets': labels.astype(jnp.int32)}
