"""Corrupted image streams for test-time adaptation: noise, blur, contrast and rotation at five severities.

The CIFAR-10-C / ImageNet-C idea (Hendrycks & Dietterich 2019) on small images in [0, 1] (e.g. 8x8 digits):
  gaussian_noise  x + N(0, sigma^2), clipped to [0, 1]           sigma  = 0.08, 0.12, 0.18, 0.26, 0.38
  gaussian_blur   Gaussian filter over the two spatial axes        sigma  = 0.4, 0.6, 0.8, 1.0, 1.3 pixels
  contrast        (x - mean(x)) * c + mean(x), per image           c      = 0.4, 0.3, 0.2, 0.1, 0.05
  rotation        bilinear rotation about the centre, zero fill    angle  = 15, 30, 45, 60, 75 degrees
The noise and contrast levels are ImageNet-C's; blur and rotation are scaled to 8x8 images (ImageNet-C's blur
sizes would erase an 8x8 digit; rotation is not in ImageNet-C but is in the seed's protocol). Random parts (the
noise, the sign of each rotation, the order of the examples) are pure functions of (seed, corruption, severity).
"""

import dataclasses
import zlib
from typing import Sequence

import numpy as np

from common.data import pipeline
from common.train.errors import ConfigurationError

SEVERITY_LEVELS = {
  'gaussian_noise': (0.08, 0.12, 0.18, 0.26, 0.38),
  'gaussian_blur': (0.4, 0.6, 0.8, 1.0, 1.3),
  'contrast': (0.4, 0.3, 0.2, 0.1, 0.05),
  'rotation': (15.0, 30.0, 45.0, 60.0, 75.0),
}
CORRUPTIONS = tuple(SEVERITY_LEVELS)


def _rng(seed: int, corruption: str, severity: int, purpose: int = 0) -> np.random.Generator:
  """Independent streams per (seed, corruption, severity, purpose): 0 corrupts, 1 orders the examples."""
  return np.random.default_rng([seed, zlib.crc32(corruption.encode()), severity, purpose])


def corrupt(images: np.ndarray, corruption: str, severity: int, seed: int = 0) -> np.ndarray:
  """Corrupted copy of (N, H, W, C) float images in [0, 1]; severity 1..5 (0 returns the images unchanged)."""
  if corruption not in SEVERITY_LEVELS:
    raise ConfigurationError(f'corruption={corruption!r} must be one of {CORRUPTIONS}.')
  if not 0 <= severity <= 5:
    raise ConfigurationError(f'severity={severity} must be 0 (clean) or 1..5.')
  if images.ndim != 4:
    raise ConfigurationError(f'corrupt needs (N, H, W, C) images; got shape {images.shape}.')
  x = np.asarray(images, np.float32)
  if severity == 0:
    return x.copy()
  level = SEVERITY_LEVELS[corruption][severity - 1]
  rng = _rng(seed, corruption, severity)
  if corruption == 'gaussian_noise':
    out = x + rng.normal(0.0, level, x.shape)
  elif corruption == 'gaussian_blur':
    from scipy import ndimage

    out = ndimage.gaussian_filter(x, sigma=(0, level, level, 0), mode='constant')
  elif corruption == 'contrast':
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    out = (x - mean) * level + mean
  else:
    from scipy import ndimage

    signs = rng.choice([-1.0, 1.0], len(x))
    out = np.stack([ndimage.rotate(img, s * level, axes=(0, 1), reshape=False, order=1) for img, s in zip(x, signs)])
  return np.clip(out, 0.0, 1.0).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class CorruptionStream:
  """D domains (corruption, severity) of the same test examples, each in a seeded order.

  names (D,) 'corruption@severity'; inputs (D, N, H, W, C); targets (D, N).
  """

  names: tuple[str, ...]
  inputs: np.ndarray
  targets: np.ndarray

  @property
  def num_domains(self) -> int:
    return len(self.names)

  def batches(self, domain: int, batch_size: int) -> list[dict[str, np.ndarray]]:
    """The domain's examples in stream order as batches of `batch_size` (the remainder is dropped)."""
    n = self.inputs.shape[1] // batch_size * batch_size
    x, y = self.inputs[domain, :n], self.targets[domain, :n]
    return [{'inputs': x[i : i + batch_size], 'targets': y[i : i + batch_size]} for i in range(0, n, batch_size)]


def corruption_stream(
  data: pipeline.ArrayDataset,
  *,
  corruptions: Sequence[str] = CORRUPTIONS,
  severities: Sequence[int] = (1, 3, 5),
  split: str = 'eval',
  seed: int = 0,
) -> CorruptionStream:
  """Every (corruption, severity) pair of `split` as a domain, corruptions outer, severities inner."""
  if not corruptions or not severities:
    raise ConfigurationError('corruption_stream needs at least one corruption and one severity.')
  if split not in ('train', 'eval'):
    raise ConfigurationError(f"corruption_stream.split={split!r} must be 'train' or 'eval'.")
  source = data.train if split == 'train' else data.eval
  images, labels = np.asarray(source['inputs'], np.float32), np.asarray(source['targets'], np.int32)
  names, inputs, targets = [], [], []
  for corruption in corruptions:
    for severity in severities:
      order = _rng(seed, corruption, severity, purpose=1).permutation(len(labels))
      corrupted = corrupt(images, corruption, severity, seed)
      names.append(f'{corruption}@{severity}')
      inputs.append(corrupted[order])
      targets.append(labels[order])
  return CorruptionStream(tuple(names), np.stack(inputs), np.stack(targets))
