"""Tiny synthetic data for the continual tests (no TFDS): 4 classes of noisy 4x4 prototypes."""

import numpy as np
import pytest

from common.data.pipeline import ArrayDataset


def toy_dataset(num_classes: int = 4, per_class: int = 24, side: int = 4, seed: int = 0) -> ArrayDataset:
  rng = np.random.default_rng(seed)
  protos = rng.uniform(0, 1, (num_classes, side, side, 1)).astype(np.float32)

  def split(n):
    y = np.repeat(np.arange(num_classes), n).astype(np.int32)
    x = protos[y] + 0.1 * rng.normal(size=(len(y), side, side, 1)).astype(np.float32)
    return {'inputs': x, 'targets': y}

  return ArrayDataset(train=split(per_class), eval=split(per_class // 2), name='toy')


@pytest.fixture
def toy():
  return toy_dataset()
