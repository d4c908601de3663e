"""Task streams over TFDS image datasets: stored uint8 images stay uint8 on the device and the step decodes them.

Data: the stand-ins of mnist (scikit-learn's digits upsampled to 28x28x1 PNGs) and cifar100 (the same digits as
32x32x3 PNGs, label = digit + 10 * (i mod 10) over all 100 classes), prepared offline under the real names and
feature specs (common/data/builders/standins.py).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common.continual import streams
from common.data import pipeline
from common.data.builders import standins
from common.train.errors import ConfigurationError

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
CIFAR_MEAN, CIFAR_STD = (0.49, 0.48, 0.45), (0.25, 0.24, 0.26)


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
  d = str(tmp_path_factory.mktemp('stream-standins'))
  standins.prepare('mnist', d, 96, 24)
  standins.prepare('cifar100', d, 200, 40)
  return d


def _reference(stream, split, task, positions, mean, std):
  """Independent numpy decoding: pool rows -> x / 255 -> (x - mean) / std -> the task's feature permutation."""
  pool = stream.train_pool if split == 'train' else stream.eval_pool
  index = stream.train_index if split == 'train' else stream.eval_index
  x = (pool[index[task, positions]].astype(np.float32) * np.float32(1 / 255) - np.float32(mean)) / np.float32(std)
  if stream.permutations is not None:
    x = x.reshape(len(x), -1)[:, stream.permutations[task]].reshape(x.shape)
  return x


def test_permuted_mnist_keeps_one_uint8_pool_and_decodes_in_the_step(data_dir):
  data = pipeline.load_tfds('mnist', data_dir=data_dir, scale=1 / 255)
  s = streams.permuted_stream(data, num_tasks=4, seed=0, permute_first=True, input_mean=MNIST_MEAN, input_std=MNIST_STD)
  assert s.train_pool.dtype == np.uint8 and s.train_pool.shape == (96, 28, 28, 1)
  assert s.permutations.shape == (4, 784) and not np.array_equal(s.permutations[0], np.arange(784))  # task 0 too
  rows_and_targets, permutations = 2 * 4 * 96 * 4, 4 * 784 * 4
  assert s.device_bytes() < s.train_pool.nbytes + rows_and_targets + permutations + 1024  # + masks, counts, decoding
  assert s.device_bytes() * 10 < s.train_inputs.nbytes  # the float32 copies per task it replaces
  tasks, idx = jnp.array([0, 3, 3, 1]), jnp.array([5, 0, 95, 17])
  batch = jax.jit(streams.gather)(s.train_arrays(), tasks, idx)
  for b, (t, i) in enumerate(zip(tasks.tolist(), idx.tolist())):
    want = _reference(s, 'train', t, np.array([i]), MNIST_MEAN, MNIST_STD)[0]
    np.testing.assert_allclose(np.asarray(batch['inputs'][b]), want, rtol=1e-6, atol=1e-6)
  assert batch['inputs'].dtype == jnp.float32
  eval_batch = next(s.iter_eval_batches(2, batch_size=16))
  np.testing.assert_allclose(eval_batch['inputs'], _reference(s, 'eval', 2, np.arange(16), MNIST_MEAN, MNIST_STD),
                             rtol=1e-6, atol=1e-6)  # fmt: skip


def test_ten_split_cifar100_takes_its_classes_from_the_feature_spec(data_dir):
  data = pipeline.load_tfds('cifar100', data_dir=data_dir, scale=1 / 255)
  s = streams.split_stream(data, num_tasks=10, scenario='task', input_mean=CIFAR_MEAN, input_std=CIFAR_STD)
  assert s.num_classes == 100 and s.class_masks.shape == (10, 100)
  assert s.class_masks.sum(1).tolist() == [10] * 10 and s.train_pool.dtype == np.uint8
  assert s.train_pool.shape == (200, 32, 32, 3) and s.permutations is None
  for t in range(10):
    n = int(s.train_counts[t])
    assert n > 0 and set(s.train_targets[t, :n].tolist()) <= set(range(10 * t, 10 * t + 10))
  batch = jax.jit(streams.sample_task_batch, static_argnums=4)(s.train_arrays(), jax.random.PRNGKey(0), 0, 7, 8)
  assert set(np.asarray(batch['targets']).tolist()) <= set(range(70, 80))
  assert np.asarray(batch['mask']).sum(1).tolist() == [10] * 8
  task7 = _reference(s, 'train', 7, np.arange(int(s.train_counts[7])), CIFAR_MEAN, CIFAR_STD).reshape(-1, 3072)
  gaps = np.abs(np.asarray(batch['inputs']).reshape(8, 1, 3072) - task7[None]).max(-1).min(-1)
  assert np.all(gaps < 1e-5), gaps  # every example is one of task 7's images, decoded with per-channel mean and std


def test_normalising_float_inputs_is_refused(toy):
  with pytest.raises(ConfigurationError, match='input_mean/input_std'):
    streams.permuted_stream(toy, num_tasks=2, input_mean=0.5)
  with pytest.raises(ConfigurationError, match='input_std'):
    streams.split_stream(pipeline.load_tfds('sklearn_digits', scale=1 / 16), num_tasks=5, input_std=0.0)
