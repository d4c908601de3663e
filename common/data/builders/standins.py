"""Stand-ins for the papers' datasets, prepared offline under the real dataset's name, version and feature spec.

`prepare('cifar10', data_dir)` writes data_dir/cifar10/3.0.2/ as ArrayRecord with the feature spec of TFDS's own
cifar10 builder (a subclass of it generates the examples), so `tfds.builder('cifar10', data_dir=data_dir)`, and any
config that names cifar10 with that data_dir, reads it as if the real data were prepared. Nothing is downloaded and
TensorFlow is not needed (images are encoded with PIL).

The images are not the real ones: they are scikit-learn's 8x8 digits (the sklearn_digits splits, label = digit),
scaled to the real image size, so a model learns something within a few steps. What stands in for what:

  mnist, fashion_mnist   (28, 28, 1) PNG: the digit upsampled 3x (nearest) and zero-padded by 2, grey 0..240
  cifar10, cifar100      (32, 32, 3) PNG: the digit upsampled 4x (nearest), grey in all three channels;
                         'id' = 'standin_<i>'. cifar100 spreads the digits over all 100 fine classes:
                         label = digit + 10 * (i % 10) for the i-th example of a split, coarse_label = label // 5,
                         so each block of 10 classes (a task of 10-split CIFAR-100) is the digit problem on its own
                         tenth of the examples
  imagenet2012           JPEG of varying size (sides 48..96 px, seeded per image): the digit resized (bilinear),
                         grey RGB; labels use classes 0..9 of 1000; 'file_name' = 'standin_<i>.JPEG'

The description in the prepared dataset_info.json starts with 'STAND-IN' (is_standin), and the readers in
common/data log a warning when they open one, so a stand-in is never taken for the real data.

  python -m common.data.builders.standins --name=cifar10 --data_dir=/tmp/standins [--num_train=256 --num_eval=64]
"""

import argparse
import functools

import numpy as np

# The stand-ins, with the split names of the real datasets (train split, eval split).
SPLITS = {
  'mnist': ('train', 'test'),
  'fashion_mnist': ('train', 'test'),
  'cifar10': ('train', 'test'),
  'cifar100': ('train', 'test'),
  'imagenet2012': ('train', 'validation'),
}
DESCRIPTION_PREFIX = 'STAND-IN'
_IMAGENET_SIDES = (48, 96)


def _digits(split: str) -> tuple[np.ndarray, np.ndarray]:
  """(images (n, 8, 8) uint8 in 0..16, labels (n,) int64) of the sklearn_digits split 'train' or 'test'."""
  from sklearn.datasets import load_digits

  from common.data.builders import sklearn_digits

  digits = load_digits()
  idx = sklearn_digits.split_indices(digits.target)[split]
  return digits.images[idx].astype(np.uint8), digits.target[idx].astype(np.int64)


def _pil(array: np.ndarray):
  from PIL import Image

  return Image.fromarray(np.ascontiguousarray(array))


def _example(name: str, image: np.ndarray, label: int, i: int) -> dict:
  """One example of stand-in `name` made from an 8x8 digit `image` (0..16)."""
  grey = (image.astype(np.uint16) * 15).astype(np.uint8)
  if name in ('mnist', 'fashion_mnist'):
    return {'image': _pil(np.pad(np.kron(grey, np.ones((3, 3), np.uint8)), 2)), 'label': label}
  if name in ('cifar10', 'cifar100'):
    rgb = np.repeat(np.kron(grey, np.ones((4, 4), np.uint8))[..., None], 3, axis=-1)
    example = {'image': _pil(rgb), 'label': label, 'id': f'standin_{i:05d}'}
    if name == 'cifar100':
      example['label'] = label + 10 * (i % 10)
      example['coarse_label'] = example['label'] // 5
    return example
  h, w = np.random.default_rng([i]).integers(_IMAGENET_SIDES[0], _IMAGENET_SIDES[1] + 1, size=2)
  resized = np.asarray(_pil(grey).resize((int(w), int(h))))
  return {
    'image': _pil(np.repeat(resized[..., None], 3, axis=-1)),
    'label': label,
    'file_name': f'standin_{i:05d}.JPEG',
  }


@functools.cache
def builder_class(name: str):
  """A subclass of TFDS's builder of `name` (same name, version, features) that generates stand-in examples."""
  import tensorflow_datasets as tfds

  if name not in SPLITS:
    raise ValueError(f'no stand-in for {name!r}; have {sorted(SPLITS)}.')
  real = tfds.builder_cls(name)

  class StandIn(real, skip_registration=True):
    """Stand-in examples under the real builder's name and feature spec (see the module docstring)."""

    num_train, num_eval = None, None  # set by prepare(): how many digits each split takes (None: all)

    def _info(self):
      info = super()._info()
      info.as_proto.description = f'{DESCRIPTION_PREFIX} (common/data/builders/standins.py): {_STANDS_IN[name]}'
      return info

    def _split_generators(self, dl_manager):
      del dl_manager  # nothing to download
      train, held_out = SPLITS[name]
      return {
        train: self._generate('train', self.num_train),
        held_out: self._generate('test', self.num_eval),
      }

    def _generate(self, digits_split, limit):
      images, labels = _digits(digits_split)
      for i, (image, label) in enumerate(zip(images[:limit], labels[:limit])):
        yield f'{digits_split}_{i:05d}', _example(name, image, int(label), i)

  StandIn.__name__ = StandIn.__qualname__ = f'StandIn_{name}'
  StandIn.name = name
  return StandIn


_STANDS_IN = {
  'mnist': "scikit-learn's 8x8 digits upsampled to 28x28x1; not MNIST.",
  'fashion_mnist': "scikit-learn's 8x8 digits upsampled to 28x28x1; not Fashion-MNIST.",
  'cifar10': "scikit-learn's 8x8 digits upsampled to 32x32x3; not CIFAR-10.",
  'cifar100': "scikit-learn's 8x8 digits upsampled to 32x32x3, class = digit + 10 * (i mod 10); not CIFAR-100.",
  'imagenet2012': "scikit-learn's 8x8 digits resized to 48..96 px JPEGs, classes 0..9 only; not ImageNet.",
}


def prepare(name: str, data_dir: str, num_train: int | None = None, num_eval: int | None = None):
  """Prepares the stand-in of `name` in `data_dir` (ArrayRecord) unless it is there already; returns the builder.

  num_train, num_eval: how many examples each split holds (at most 1438 and 359, the digits splits; None: all).
  """
  from common.data.builders import FILE_FORMAT

  cls = builder_class(name)
  b = cls(data_dir=data_dir)
  b.num_train, b.num_eval = num_train, num_eval
  if not b.is_prepared():
    b.download_and_prepare(file_format=FILE_FORMAT)
  return b


def is_standin(b) -> bool:
  """Whether the data prepared for builder `b` are a stand-in written by this module.

  Read from the prepared dataset_info.json: a builder's `info.description` comes from its code, not the files.
  """
  import json
  import os

  path = os.path.join(b.data_dir, 'dataset_info.json')
  if not os.path.exists(path):
    return False
  with open(path) as f:
    return json.load(f).get('description', '').startswith(DESCRIPTION_PREFIX)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--name', required=True, choices=sorted(SPLITS))
  parser.add_argument('--data_dir', required=True)
  parser.add_argument('--num_train', type=int, default=None)
  parser.add_argument('--num_eval', type=int, default=None)
  args = parser.parse_args(argv)
  b = prepare(args.name, args.data_dir, args.num_train, args.num_eval)
  print(f'stand-in {args.name} prepared in {b.data_dir}: {b.info.splits}')
  return 0


if __name__ == '__main__':
  raise SystemExit(main())
