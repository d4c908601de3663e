"""StreamingClassificationTask: the in-memory task's loss and init interface, with batches streamed by grain."""

import jax.numpy as jnp
import numpy as np
import pytest

from common.data import pipeline, preprocess, streaming, streaming_task
from common.train import tasks
from common.train.errors import ConfigurationError


def _task(**kw):
  digits = preprocess.Normalize(scale=1 / 16)
  kw = {'batch_size': 32, 'eval_batch_size': 100, 'train_transform': digits, 'eval_transform': digits, **kw}
  return streaming_task.StreamingClassificationTask(data=streaming.TFDSStream('sklearn_digits'), **kw)


def test_init_inputs_come_from_the_feature_spec_and_the_transform(standin_dir):
  assert _task().init_inputs().shape == (2, 8, 8, 1)
  task = streaming_task.StreamingClassificationTask(
    data=streaming.TFDSStream('imagenet2012', data_dir=standin_dir, eval_split='validation'),
    num_classes=1000,
    train_transform=preprocess.InceptionCropFlip(size=24),
    eval_transform=preprocess.CenterCrop(size=24),
  )
  assert task.init_inputs().shape == (2, 24, 24, 3)


def test_variable_size_images_need_a_cropping_transform(standin_dir):
  with pytest.raises(ConfigurationError, match='varying size'):
    streaming_task.StreamingClassificationTask(
      data=streaming.TFDSStream('imagenet2012', data_dir=standin_dir, eval_split='validation')
    )
  with pytest.raises(ConfigurationError, match='eval_transform gives'):
    streaming_task.StreamingClassificationTask(
      data=streaming.TFDSStream('imagenet2012', data_dir=standin_dir, eval_split='validation'),
      train_transform=preprocess.InceptionCropFlip(size=24),
      eval_transform=preprocess.CenterCrop(size=32),
    )


def test_loss_is_the_in_memory_tasks_loss():
  batch = {'targets': jnp.array([1, 2, 3]), 'weight': jnp.array([1.0, 1.0, 0.0])}
  logits = jnp.asarray(np.random.default_rng(0).normal(size=(3, 10)), jnp.float32)
  ours = _task(label_smoothing=0.1).loss(logits, batch)
  theirs = tasks.ClassificationTask(data=pipeline.load_tfds('sklearn_digits'), label_smoothing=0.1).loss(logits, batch)
  assert ours[1].keys() == theirs[1].keys() == {'loss', 'accuracy'}
  for k in ours[1]:
    np.testing.assert_array_equal(ours[1][k], theirs[1][k])
  np.testing.assert_array_equal(ours[0], theirs[0])


def test_train_iterator_and_eval_batches_per_process():
  task = _task()
  batch = next(task.train_iterator(seed=0, process_index=1, process_count=2))
  assert batch['inputs'].shape == (16, 8, 8, 1)
  evals = list(task.eval_batches(process_index=0, process_count=1))
  assert sum(b['weight'].sum() for b in evals) == task.data.num_examples('test')


def test_batch_larger_than_the_training_split_is_refused():
  with pytest.raises(ConfigurationError, match='batch_size=5000 exceeds the 1438 training examples'):
    _task(batch_size=5000).check_prepared()
