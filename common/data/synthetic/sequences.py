"""Long-horizon sequence tasks generated on device (traceable, a pure function of the key): the adding problem and
spike adding (two digits as Poisson spike trains separated by a silent gap; the target is their sum).

  adding_batch(key, batch, length) -> inputs (B, T, 2), targets (B, 1)
    channel 0: uniform values in [0, 1]; channel 1: two markers, one in each half of the sequence; target: the sum
    of the two marked values (Hochreiter & Schmidhuber 1997; Le et al. 2015). Predicting 1 gives MSE ~ 0.167.
  spike_adding_batch(key, images, labels, batch, gap, steps_per_digit, max_prob) -> inputs (B, T, P), targets (B,)
    two random images (flattened, intensities in [0, 1]) become Bernoulli spike trains of `steps_per_digit` steps
    each, separated by `gap` silent steps: T = 2 * steps_per_digit + gap; the target is label_1 + label_2 (19
    classes for digits). This mirrors SHD-Adding of the ELM paper with scikit-learn digits instead of SHD.
"""

import jax
import jax.numpy as jnp

from common.spiking import poisson_encode
from common.train.errors import ConfigurationError


def adding_batch(key: jax.Array, batch: int, length: int) -> dict:
  if length < 2:
    raise ConfigurationError(f'length={length} must be at least 2 (one marker in each half).')
  k_val, k_a, k_b = jax.random.split(key, 3)
  values = jax.random.uniform(k_val, (batch, length))
  half = length // 2
  i = jax.random.randint(k_a, (batch,), 0, half)
  j = jax.random.randint(k_b, (batch,), half, length)
  markers = jax.nn.one_hot(i, length) + jax.nn.one_hot(j, length)
  target = jnp.sum(values * markers, axis=1, keepdims=True)
  return {'inputs': jnp.stack([values, markers], axis=-1), 'targets': target}


def spike_adding_batch(
  key: jax.Array, images, labels, batch: int, gap: int, steps_per_digit: int = 20, max_prob: float = 0.5
) -> dict:
  if gap < 0:
    raise ConfigurationError(f'gap={gap} must be non-negative (silent steps between the two digits).')
  if steps_per_digit < 1:
    raise ConfigurationError(f'steps_per_digit={steps_per_digit} must be at least 1.')
  k_idx, k_a, k_b = jax.random.split(key, 3)
  idx = jax.random.randint(k_idx, (2, batch), 0, images.shape[0])
  flat = images.reshape(images.shape[0], -1)
  first = poisson_encode(k_a, flat[idx[0]], steps_per_digit, max_prob=max_prob)
  second = poisson_encode(k_b, flat[idx[1]], steps_per_digit, max_prob=max_prob)
  silence = jnp.zeros((batch, gap, flat.shape[1]), first.dtype)
  return {
    'inputs': jnp.concatenate([first, silence, second], axis=1),
    'targets': (labels[idx[0]] + labels[idx[1]]).astype(jnp.int32),
  }
