"""The digits TFDS builder and deterministic batching."""

import jax
import jax.numpy as jnp
import numpy as np

from common.data import pipeline
from common.data.builders import sklearn_digits


def test_digits_builder_prepares_offline_with_disjoint_stratified_splits():
  data = pipeline.load_tfds('sklearn_digits', scale=1 / 16)
  assert data.num_train + data.num_eval == 1797
  assert data.train['inputs'].shape[1:] == (8, 8, 1)
  assert data.train['inputs'].dtype == np.float32
  assert 0.0 <= data.train['inputs'].min() and data.train['inputs'].max() <= 1.0
  assert set(np.unique(data.eval['targets'])) == set(range(10))
  from sklearn.datasets import load_digits

  labels = load_digits().target
  idx = sklearn_digits.split_indices(labels)
  assert not set(idx['train']) & set(idx['test'])
  assert len(idx['test']) == data.num_eval


def test_batches_are_a_pure_function_of_key_and_step():
  arrays = {'inputs': jnp.arange(100.0), 'targets': jnp.arange(100)}
  key = jax.random.PRNGKey(3)
  a = pipeline.batch_at_step(arrays, key, jnp.int32(7), 16)
  b = pipeline.batch_at_step(arrays, key, jnp.int32(7), 16)
  c = pipeline.batch_at_step(arrays, key, jnp.int32(8), 16)
  np.testing.assert_array_equal(a['inputs'], b['inputs'])
  assert not np.array_equal(a['inputs'], c['inputs'])
  # One epoch (6 steps of 16 from 100) visits 96 distinct examples, without replacement.
  seen = np.concatenate([pipeline.batch_at_step(arrays, key, jnp.int32(s), 16)['targets'] for s in range(6)])
  assert len(set(seen.tolist())) == 96


def test_eval_batches_pad_with_zero_weight():
  arrays = {'inputs': np.ones((10, 2), np.float32), 'targets': np.arange(10)}
  batches = list(pipeline.eval_batches(arrays, 4))
  assert [b['inputs'].shape for b in batches] == [(4, 2)] * 3
  assert sum(b['weight'].sum() for b in batches) == 10
  assert batches[-1]['weight'].tolist() == [1, 1, 0, 0]


def test_lazy_dataset_gives_shapes_without_loading(tmp_path):
  data = pipeline.load_tfds('sklearn_digits', data_dir=str(tmp_path / 'unprepared'))
  assert data.example_inputs(2).shape == (2, 8, 8, 1)
  assert not (tmp_path / 'unprepared' / 'sklearn_digits').exists()


def test_digits_are_prepared_as_array_record_for_random_access():
  from common.data import tfds_sources

  builder = pipeline.load_tfds('sklearn_digits').check_prepared()
  assert tfds_sources.has_random_access(builder)
  assert len(tfds_sources.random_access_source(builder, 'test')) == 359
