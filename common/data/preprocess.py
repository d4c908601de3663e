"""Image preprocessing as pure numpy functions, and the per-example transforms the streaming pipeline applies.

Images are (H, W, C) uint8 arrays as TFDS decodes them. Random functions take a `np.random.Generator`; the
pipeline seeds it per example from (seed, epoch, record index) (order.example_rng), so a transform's output is a
pure function of those three numbers and the image. No TensorFlow and no JAX: these run in grain's worker processes.

Conventions follow torchvision, which the papers' reference code uses:
  CIFAR train:     RandomCrop(32, padding=4) with zero padding, then RandomHorizontalFlip (PadCropFlip).
  ImageNet train:  RandomResizedCrop(224, scale=(0.08, 1), ratio=(3/4, 4/3)), then RandomHorizontalFlip
                   (InceptionCropFlip), resized with PIL's bilinear filter as torchvision's PIL path does.
  ImageNet eval:   Resize(256) + CenterCrop(224), done here as one resize of the central square whose side is
                   0.875 x the shorter side (CenterCrop); the two differ only by resampling.
Every transform ends with Normalize: (image * scale - mean) / std, float32.
"""

import dataclasses
import math
from typing import Sequence

import numpy as np

from common.train.errors import ConfigurationError

Floats = float | Sequence[float]


def normalize(image: np.ndarray, scale: float = 1 / 255, mean: Floats = 0.0, std: Floats = 1.0) -> np.ndarray:
  """(H, W, C) any dtype -> float32 (image * scale - mean) / std; mean and std are scalars or per channel (C,)."""
  x = image.astype(np.float32) * np.float32(scale)
  return (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)


def random_flip_left_right(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
  """The image mirrored left-right with probability 1/2 (one draw from `rng`)."""
  return image[:, ::-1] if rng.random() < 0.5 else image


def pad_and_random_crop(image: np.ndarray, rng: np.random.Generator, padding: int) -> np.ndarray:
  """(H, W, C) -> (H, W, C): zero-pad `padding` pixels on every side, then crop a random H x W window."""
  h, w = image.shape[:2]
  top, left = (int(v) for v in rng.integers(0, 2 * padding + 1, size=2))
  # The window [top, top + h) x [left, left + w) of the padded image, without building it (np.pad is slow).
  dy, dx = top - padding, left - padding
  out = np.zeros_like(image)
  out[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)] = image[
    max(0, dy) : h - max(0, -dy), max(0, dx) : w - max(0, -dx)
  ]
  return out


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
  """(H, W, C) uint8 -> (height, width, C) uint8 with PIL's bilinear filter (antialiased when shrinking)."""
  from PIL import Image

  if image.shape[:2] == (height, width):
    return image
  channels = [image[..., c] for c in range(image.shape[-1])] if image.shape[-1] != 3 else [image]
  out = [np.asarray(Image.fromarray(np.ascontiguousarray(c)).resize((width, height), Image.BILINEAR)) for c in channels]
  return out[0] if image.shape[-1] == 3 else np.stack(out, axis=-1)


def random_resized_crop_box(
  height: int,
  width: int,
  rng: np.random.Generator,
  area_range: tuple[float, float] = (0.08, 1.0),
  aspect_ratio_range: tuple[float, float] = (3 / 4, 4 / 3),
  attempts: int = 10,
) -> tuple[int, int, int, int]:
  """(top, left, crop_height, crop_width) of an Inception-style crop inside a height x width image.

  Up to `attempts` draws of an area fraction (uniform in area_range) and an aspect ratio w/h (log-uniform in
  aspect_ratio_range); the first box that fits is placed uniformly. If none fits: the largest central box whose
  aspect ratio lies in the range (torchvision's RandomResizedCrop.get_params).
  """
  area = height * width
  log_lo, log_hi = math.log(aspect_ratio_range[0]), math.log(aspect_ratio_range[1])
  for _ in range(attempts):
    target = area * rng.uniform(*area_range)
    aspect = math.exp(rng.uniform(log_lo, log_hi))
    crop_w = int(round(math.sqrt(target * aspect)))
    crop_h = int(round(math.sqrt(target / aspect)))
    if 0 < crop_w <= width and 0 < crop_h <= height:
      top = int(rng.integers(0, height - crop_h + 1))
      left = int(rng.integers(0, width - crop_w + 1))
      return top, left, crop_h, crop_w
  ratio = width / height
  if ratio < aspect_ratio_range[0]:
    crop_w, crop_h = width, int(round(width / aspect_ratio_range[0]))
  elif ratio > aspect_ratio_range[1]:
    crop_h, crop_w = height, int(round(height * aspect_ratio_range[1]))
  else:
    crop_h, crop_w = height, width
  return (height - crop_h) // 2, (width - crop_w) // 2, crop_h, crop_w


def random_resized_crop(image: np.ndarray, rng: np.random.Generator, size: int, **box_kwargs) -> np.ndarray:
  """(H, W, C) uint8 -> (size, size, C) uint8: an Inception-style random crop (random_resized_crop_box), resized."""
  top, left, h, w = random_resized_crop_box(*image.shape[:2], rng, **box_kwargs)
  return resize(image[top : top + h, left : left + w], size, size)


def center_crop(image: np.ndarray, size: int, crop_fraction: float = 0.875) -> np.ndarray:
  """(H, W, C) uint8 -> (size, size, C) uint8: the central square of side crop_fraction x min(H, W), resized."""
  h, w = image.shape[:2]
  side = max(1, int(round(min(h, w) * crop_fraction)))
  top, left = (h - side) // 2, (w - side) // 2
  return resize(image[top : top + side, left : left + side], size, size)


# Per-example transforms: picklable (they travel to grain's worker processes) and configurable from gin.
# `__call__(image, rng)` -> float32 image; `rng` is None for eval, where every transform is deterministic.
# `output_shape(input_shape)` gives the model's input shape without reading data (dry runs, init_inputs).


@dataclasses.dataclass(frozen=True)
class Normalize:
  """No augmentation: (image * scale - mean) / std. mean and std: scalars or per-channel tuples."""

  scale: float = 1 / 255
  mean: Floats = 0.0
  std: Floats = 1.0

  def __call__(self, image: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    del rng
    return normalize(image, self.scale, self.mean, self.std)

  def output_shape(self, input_shape: tuple) -> tuple:
    return tuple(input_shape)


@dataclasses.dataclass(frozen=True)
class PadCropFlip:
  """CIFAR training augmentation: zero-pad `padding`, random crop back to H x W, random left-right flip."""

  padding: int = 4
  flip: bool = True
  normalize: Normalize = Normalize()

  def __post_init__(self):
    if self.padding < 0:
      raise ConfigurationError(f'PadCropFlip.padding={self.padding} must be >= 0.')

  def __call__(self, image: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
    if rng is None:  # eval: the image as is
      return self.normalize(image)
    image = pad_and_random_crop(image, rng, self.padding)
    if self.flip:
      image = random_flip_left_right(image, rng)
    return self.normalize(image)

  def output_shape(self, input_shape: tuple) -> tuple:
    return tuple(input_shape)


@dataclasses.dataclass(frozen=True)
class InceptionCropFlip:
  """ImageNet training augmentation: Inception-style random resized crop to size x size, random flip."""

  size: int = 224
  area_range: tuple[float, float] = (0.08, 1.0)
  aspect_ratio_range: tuple[float, float] = (3 / 4, 4 / 3)
  flip: bool = True
  normalize: Normalize = Normalize()

  def __post_init__(self):
    lo, hi = self.area_range
    if not 0 < lo <= hi <= 1:
      raise ConfigurationError(f'InceptionCropFlip.area_range={self.area_range} must satisfy 0 < lo <= hi <= 1.')
    if not 0 < self.aspect_ratio_range[0] <= self.aspect_ratio_range[1]:
      raise ConfigurationError(f'InceptionCropFlip.aspect_ratio_range={self.aspect_ratio_range} must be 0 < lo <= hi.')

  def __call__(self, image: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
    if rng is None:  # eval: the centre crop at the same size
      return self.normalize(center_crop(image, self.size))
    kwargs = {'area_range': self.area_range, 'aspect_ratio_range': self.aspect_ratio_range}
    image = random_resized_crop(image, rng, self.size, **kwargs)
    if self.flip:
      image = random_flip_left_right(image, rng)
    return self.normalize(image)

  def output_shape(self, input_shape: tuple) -> tuple:
    return (self.size, self.size, input_shape[-1])


@dataclasses.dataclass(frozen=True)
class CenterCrop:
  """Evaluation crop for variable-size images: the central square (crop_fraction of the shorter side), resized."""

  size: int = 224
  crop_fraction: float = 0.875
  normalize: Normalize = Normalize()

  def __post_init__(self):
    if not 0 < self.crop_fraction <= 1:
      raise ConfigurationError(f'CenterCrop.crop_fraction={self.crop_fraction} must lie in (0, 1].')

  def __call__(self, image: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    del rng
    return self.normalize(center_crop(image, self.size, self.crop_fraction))

  def output_shape(self, input_shape: tuple) -> tuple:
    return (self.size, self.size, input_shape[-1])
