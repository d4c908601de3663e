"""The grain pipeline on real ArrayRecord files: deterministic, resumable mid-epoch, sharded per process.

Data: scikit-learn's digits (offline builder, prepared at first use) and the stand-ins of cifar10 and imagenet2012
(conftest.py: digits scaled to the real feature specs, prepared under the real names).
"""

import numpy as np
import pytest

from common.data import preprocess, streaming
from common.train.errors import ConfigurationError

DIGITS = preprocess.Normalize(scale=1 / 16)


def _digits():
  return streaming.TFDSStream('sklearn_digits')


def _take(it, n):
  return [next(it) for _ in range(n)]


def _assert_same(batches_a, batches_b):
  assert len(batches_a) == len(batches_b)
  for a, b in zip(batches_a, batches_b):
    assert a.keys() == b.keys()
    for k in a:
      np.testing.assert_array_equal(a[k], b[k])


def test_same_seed_same_batches_other_seed_other_batches():
  stream = _digits()
  a = _take(stream.train_iterator(seed=5, batch_size=32, transform=DIGITS), 3)
  b = _take(stream.train_iterator(seed=5, batch_size=32, transform=DIGITS), 3)
  c = _take(stream.train_iterator(seed=6, batch_size=32, transform=DIGITS), 1)
  _assert_same(a, b)
  assert a[0]['inputs'].shape == (32, 8, 8, 1) and a[0]['inputs'].dtype == np.float32
  assert a[0]['targets'].dtype == np.int32
  assert not np.array_equal(a[0]['inputs'], c[0]['inputs'])


# 1438 // 64 = 22 steps per epoch: stop mid-epoch 0, and at step 20 so the resumed batches cross into epoch 1
@pytest.mark.parametrize('stop', [3, 20])
def test_iterator_restored_from_its_state_continues_bitwise(stop):
  stream = _digits()
  it = stream.train_iterator(seed=0, batch_size=64, transform=DIGITS)
  whole = _take(it, stop + 4)
  it = stream.train_iterator(seed=0, batch_size=64, transform=DIGITS)
  _take(it, stop)
  state = it.get_state()
  it.close()
  assert state['step'] == stop
  resumed = stream.train_iterator(seed=0, batch_size=64, transform=DIGITS)
  resumed.set_state(state)
  _assert_same(_take(resumed, 4), whole[stop:])


def test_state_from_another_stream_is_refused():
  stream = _digits()
  state = stream.train_iterator(seed=0, batch_size=64, transform=DIGITS).get_state()
  with pytest.raises(ValueError, match='another stream'):
    stream.train_iterator(seed=1, batch_size=64, transform=DIGITS).set_state(state)


def test_two_processes_read_disjoint_halves_whose_union_is_the_global_batch():
  stream = _digits()
  whole = _take(stream.train_iterator(seed=2, batch_size=32, transform=DIGITS), 3)
  halves = [
    _take(stream.train_iterator(seed=2, batch_size=32, transform=DIGITS, process_index=p, process_count=2), 3)
    for p in range(2)
  ]
  for step in range(3):
    a, b = halves[0][step], halves[1][step]
    assert a['inputs'].shape == (16, 8, 8, 1)
    for k in ('inputs', 'targets'):
      np.testing.assert_array_equal(np.concatenate([a[k], b[k]]), whole[step][k])
  # disjoint: the two processes' records differ (as images) at every step
  rows = lambda batch: {x.tobytes() for x in batch['inputs']}  # noqa: E731
  assert not rows(halves[0][0]) & rows(halves[1][0])


def test_grain_worker_processes_give_the_same_batches():
  stream = _digits()
  plain = _take(stream.train_iterator(seed=1, batch_size=16, transform=DIGITS), 4)
  options = streaming.LoaderOptions(worker_count=2, read_threads=2, prefetch=2)
  with stream.train_iterator(seed=1, batch_size=16, transform=DIGITS, options=options) as it:
    _assert_same(_take(it, 4), plain)


def test_eval_batches_cover_the_split_once_with_fixed_shapes():
  stream = _digits()
  batches = list(stream.eval_batches(batch_size=128, transform=DIGITS))
  assert {b['inputs'].shape for b in batches} == {(128, 8, 8, 1)}
  assert sum(b['weight'].sum() for b in batches) == stream.num_examples('test')
  halves = [
    list(stream.eval_batches(batch_size=128, transform=DIGITS, process_index=p, process_count=2)) for p in (0, 1)
  ]
  for whole, a, b in zip(batches, *halves):
    np.testing.assert_array_equal(np.concatenate([a['targets'], b['targets']]), whole['targets'])


def test_cifar_standin_with_crop_and_flip(standin_dir):
  stream = streaming.TFDSStream('cifar10', data_dir=standin_dir)
  transform = preprocess.PadCropFlip(normalize=preprocess.Normalize(mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25)))
  a = _take(stream.train_iterator(seed=0, batch_size=16, transform=transform), 2)
  b = _take(stream.train_iterator(seed=0, batch_size=16, transform=transform), 2)
  _assert_same(a, b)
  assert a[0]['inputs'].shape == (16, 32, 32, 3)
  plain = _take(stream.train_iterator(seed=0, batch_size=16), 1)[0]  # same records, no augmentation
  np.testing.assert_array_equal(plain['targets'], a[0]['targets'])
  assert not np.array_equal(plain['inputs'], a[0]['inputs'] * 0.25 + 0.5)


def test_imagenet_standin_crops_varying_sizes_to_one_shape(standin_dir):
  stream = streaming.TFDSStream('imagenet2012', data_dir=standin_dir, eval_split='validation')
  assert stream.input_shape() == (None, None, 3)
  train = next(stream.train_iterator(seed=0, batch_size=8, transform=preprocess.InceptionCropFlip(size=24)))
  assert train['inputs'].shape == (8, 24, 24, 3)
  evals = list(stream.eval_batches(batch_size=16, transform=preprocess.CenterCrop(size=24)))
  assert [b['inputs'].shape for b in evals] == [(16, 24, 24, 3)] * 2


def test_unknown_split_names_the_parameter(standin_dir):
  with pytest.raises(ConfigurationError, match="TFDSStream.eval_split='test'.*validation"):
    streaming.TFDSStream('imagenet2012', data_dir=standin_dir).check_prepared()


def test_unknown_input_key_names_the_parameter():
  with pytest.raises(ConfigurationError, match="input_key='img'.*image"):
    streaming.TFDSStream('sklearn_digits', input_key='img').input_shape()
