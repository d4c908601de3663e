"""TFDS builder for scikit-learn's bundled 8x8 handwritten digits (UCI optdigits test set, 1797 images).

It prepares with no network: the data ship inside scikit-learn. The train/test split is a fixed, seeded
80/20 partition (1438 / 359 examples), stratified by class, so every machine builds the same splits.

Version 1.1.0 holds the same examples in the same order as 1.0.0; it exists so that every copy is prepared as
ArrayRecord (random access: `tfds.data_source`, read by grain or into memory without TensorFlow). A data_dir
that holds the TFRecord 1.0.0 copy is left alone; 1.1.0 is prepared next to it at first use.

Features:
  image: uint8 (8, 8, 1), grey levels 0..16 as in the original data (not rescaled to 0..255).
  label: ClassLabel with 10 classes.
"""

import numpy as np
import tensorflow_datasets as tfds

_SPLIT_SEED = 0
_TEST_FRACTION = 0.2


def split_indices(labels: np.ndarray) -> dict[str, np.ndarray]:
  """Stratified, seeded train/test indices. Returns {'train': idx, 'test': idx}, each sorted."""
  rng = np.random.default_rng(_SPLIT_SEED)
  train, test = [], []
  for c in np.unique(labels):
    idx = rng.permutation(np.flatnonzero(labels == c))
    n_test = int(round(len(idx) * _TEST_FRACTION))
    test.append(idx[:n_test])
    train.append(idx[n_test:])
  return {'train': np.sort(np.concatenate(train)), 'test': np.sort(np.concatenate(test))}


class SklearnDigits(tfds.core.GeneratorBasedBuilder):
  """scikit-learn's 8x8 digits as a TFDS dataset (offline)."""

  VERSION = tfds.core.Version('1.1.0')
  RELEASE_NOTES = {
    '1.0.0': 'Stratified 80/20 split with seed 0.',
    '1.1.0': 'The same examples, prepared as ArrayRecord (common.data.builders.FILE_FORMAT).',
  }

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(
      builder=self,
      description='8x8 handwritten digits bundled with scikit-learn (grey levels 0..16).',
      features=tfds.features.FeaturesDict(
        {
          'image': tfds.features.Tensor(shape=(8, 8, 1), dtype=np.uint8),
          'label': tfds.features.ClassLabel(num_classes=10),
        }
      ),
      supervised_keys=('image', 'label'),
      homepage='https://scikit-learn.org/stable/datasets/toy_dataset.html#digits-dataset',
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # Nothing to download: the data ship with scikit-learn.
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images.astype(np.uint8)[..., None]
    labels = digits.target.astype(np.int64)
    splits = split_indices(labels)
    return {name: self._generate_examples(images[idx], labels[idx], idx) for name, idx in splits.items()}

  def _generate_examples(self, images, labels, original_index):
    for image, label, i in zip(images, labels, original_index):
      yield int(i), {'image': image, 'label': int(label)}
