"""Preprocessing: deterministic per seed, and each function does what it says (shapes, flips, crop bounds)."""

import numpy as np
import pytest

from common.data import preprocess
from common.train.errors import ConfigurationError


def _image(h=32, w=32, c=3, seed=0):
  return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


def _rng(seed):
  return np.random.default_rng(seed)


def test_normalize_scales_and_standardises_per_channel():
  image = np.full((2, 2, 3), 255, np.uint8)
  out = preprocess.normalize(image, 1 / 255, mean=(0.5, 0.0, 1.0), std=(0.5, 1.0, 2.0))
  assert out.dtype == np.float32
  np.testing.assert_allclose(out[0, 0], [1.0, 1.0, 0.0])


def test_flip_gives_the_image_or_its_mirror_and_both_happen():
  image = _image()
  outcomes = set()
  for seed in range(20):
    out = preprocess.random_flip_left_right(image, _rng(seed))
    if np.array_equal(out, image):
      outcomes.add('same')
    else:
      np.testing.assert_array_equal(out, image[:, ::-1])
      outcomes.add('mirror')
  assert outcomes == {'same', 'mirror'}


def test_pad_and_random_crop_is_a_window_of_the_zero_padded_image():
  image = _image(8, 8, 1) | 1  # no zeros inside, so the padding is recognisable
  padded = np.pad(image, ((4, 4), (4, 4), (0, 0)))
  offsets = set()
  for seed in range(30):
    out = preprocess.pad_and_random_crop(image, _rng(seed), 4)
    assert out.shape == image.shape
    hits = [(t, x) for t in range(9) for x in range(9) if np.array_equal(padded[t : t + 8, x : x + 8], out)]
    assert hits, 'the crop is not a window of the padded image'
    offsets.add(hits[0])
  assert len(offsets) > 5  # the offsets vary with the seed


def test_random_resized_crop_box_stays_inside_and_respects_area_and_aspect():
  for seed in range(200):
    top, left, h, w = preprocess.random_resized_crop_box(60, 90, _rng(seed))
    assert 0 <= top and top + h <= 60 and 0 <= left and left + w <= 90 and h > 0 and w > 0
    fallback = (h, w) == (60, 80) and (top, left) == (0, 5)  # the central crop at the widest allowed ratio (4/3)
    if not fallback:  # rounding to whole pixels moves area and aspect slightly
      assert 0.08 * 0.9 <= h * w / (60 * 90) <= 1.0
      assert 3 / 4 * 0.9 <= w / h <= 4 / 3 * 1.1


def test_random_resized_crop_falls_back_to_a_central_crop_when_nothing_fits():
  # aspect ratios near 1 never fit into a 4 x 100 strip: the fallback keeps the whole height, ratio 4/3
  assert preprocess.random_resized_crop_box(4, 100, _rng(0), area_range=(0.9, 1.0)) == (0, 47, 4, 5)


def test_center_crop_takes_the_central_square_and_resizes():
  image = np.zeros((40, 60, 3), np.uint8)
  image[5:35, 15:45] = 200  # the central 30 x 30 square (0.75 of the shorter side)
  out = preprocess.center_crop(image, 16, crop_fraction=0.75)
  assert out.shape == (16, 16, 3) and out.dtype == np.uint8
  assert (out == 200).all()


def test_resize_keeps_one_channel_images():
  assert preprocess.resize(_image(10, 12, 1), 5, 6).shape == (5, 6, 1)


@pytest.mark.parametrize(
  'transform, shape',
  [
    (preprocess.PadCropFlip(), (32, 32, 3)),
    (preprocess.InceptionCropFlip(size=24), (24, 24, 3)),
    (preprocess.CenterCrop(size=24), (24, 24, 3)),
    (preprocess.Normalize(), (32, 32, 3)),
  ],
)
def test_transforms_are_deterministic_per_seed_and_give_their_output_shape(transform, shape):
  image = _image(40, 32) if not isinstance(transform, preprocess.PadCropFlip | preprocess.Normalize) else _image()
  a, b = transform(image, _rng(7)), transform(image, _rng(7))
  assert a.shape == shape == transform.output_shape(image.shape) and a.dtype == np.float32
  np.testing.assert_array_equal(a, b)
  if isinstance(transform, preprocess.PadCropFlip | preprocess.InceptionCropFlip):
    assert any(not np.array_equal(a, transform(image, _rng(s))) for s in range(5))
  else:
    np.testing.assert_array_equal(a, transform(image, None))


def test_bad_transform_values_name_the_parameter():
  with pytest.raises(ConfigurationError, match='InceptionCropFlip.area_range'):
    preprocess.InceptionCropFlip(area_range=(0.0, 1.0))
  with pytest.raises(ConfigurationError, match='CenterCrop.crop_fraction'):
    preprocess.CenterCrop(crop_fraction=1.5)
