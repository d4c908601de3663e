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


# The papers' datasets as small stand-ins (common/data/builders/standins.py: scikit-learn's digits scaled to each real
# feature spec, prepared under the real names), for the configs that train on them and the streaming runs.
PAPER_STANDINS = {
  'mnist': (128, 32),
  'fashion_mnist': (128, 32),
  'cifar10': (128, 32),
  'cifar100': (128, 32),
  'imagenet2012': (64, 16),
}


@pytest.fixture(scope='session')
def paper_data_dir(tmp_path_factory):
  """A TFDS data_dir holding the stand-ins of every paper dataset (PAPER_STANDINS: train / eval examples)."""
  data_dir = str(tmp_path_factory.mktemp('paper-standins'))
  for name, (num_train, num_eval) in PAPER_STANDINS.items():
    standins.prepare(name, data_dir, num_train, num_eval)
  return data_dir
