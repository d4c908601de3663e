"""Fixtures for the data tests: small stand-ins of the papers' datasets, prepared once per test session."""

import pytest

from common.data.builders import standins

# Small on purpose: the streaming tests read a few batches; the stand-in generator takes the digits in order.
NUM_TRAIN, NUM_EVAL = 96, 24


@pytest.fixture(scope='session')
def standin_dir(tmp_path_factory):
  """A TFDS data_dir holding the stand-ins of cifar10 and imagenet2012 (ArrayRecord)."""
  data_dir = str(tmp_path_factory.mktemp('standins'))
  for name in ('cifar10', 'imagenet2012'):
    standins.prepare(name, data_dir, NUM_TRAIN, NUM_EVAL)
  return data_dir
