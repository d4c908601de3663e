"""Record order: a pure function of (seed, position); per-process slices tile the global batch."""

import numpy as np
import pytest

from common.data import order
from common.train.errors import ConfigurationError


def test_same_seed_same_order_and_other_seed_another():
  a, b, c = order.TrainOrder(100, 16, seed=3), order.TrainOrder(100, 16, seed=3), order.TrainOrder(100, 16, seed=4)
  for step in (0, 5, 6, 13):
    np.testing.assert_array_equal(a.global_batch(step), b.global_batch(step))
  assert not np.array_equal(a.global_batch(0), c.global_batch(0))


def test_an_epoch_visits_distinct_records_and_the_next_epoch_reshuffles():
  o = order.TrainOrder(100, 16, seed=0)
  assert o.steps_per_epoch == 6
  epoch0 = np.concatenate([o.global_batch(s) for s in range(6)])
  assert len(set(epoch0.tolist())) == 96  # 100 // 16 steps of 16, without replacement; 4 records left over
  epoch1 = np.concatenate([o.global_batch(s) for s in range(6, 12)])
  assert len(set(epoch1.tolist())) == 96
  assert not np.array_equal(epoch0, epoch1)


@pytest.mark.parametrize('process_count', [2, 4])
def test_process_slices_are_disjoint_and_their_union_is_the_global_batch(process_count):
  o = order.TrainOrder(100, 16, seed=1)
  for step in (0, 4, 7):
    slices = [o.process_batch(step, p, process_count) for p in range(process_count)]
    assert all(len(s) == 16 // process_count for s in slices)
    np.testing.assert_array_equal(np.concatenate(slices), o.global_batch(step))
    assert len(set(np.concatenate(slices).tolist())) == 16


def test_process_count_must_divide_the_batch():
  with pytest.raises(ConfigurationError, match='batch_size=16 is not divisible by the 3 processes'):
    order.TrainOrder(100, 16, seed=0).process_batch(0, 0, 3)


def test_batch_larger_than_the_split_is_a_configuration_error():
  with pytest.raises(ConfigurationError, match='batch_size=200'):
    order.TrainOrder(100, 200, seed=0)


def test_example_rng_depends_on_seed_epoch_and_index_only():
  draw = lambda *a: order.example_rng(*a).random(3)  # noqa: E731
  np.testing.assert_array_equal(draw(0, 1, 2), draw(0, 1, 2))
  assert len({tuple(draw(*a)) for a in [(0, 1, 2), (1, 1, 2), (0, 2, 2), (0, 1, 3)]}) == 4


def test_eval_order_pads_the_last_batch_with_zero_weight_and_splits_it_over_processes():
  o = order.EvalOrder(10, 4, process_count=2)
  assert len(o) == 3
  idx, weight = zip(*[o.process_batch(i, p) for i in range(3) for p in range(2)])
  np.testing.assert_array_equal(np.concatenate(idx)[np.concatenate(weight) == 1], np.arange(10))
  assert np.concatenate(weight).sum() == 10
  small = order.EvalOrder(5, 512, process_count=2)  # a small split is not padded out to 512
  assert small.batch_size == 6 and len(small) == 1
