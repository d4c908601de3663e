"""The ELM project's tasks in the loop's task interface (batches generated inside the jitted step).

SpikeAddingTask: two digits as Poisson spike trains separated by `gap` silent steps; classify their sum (19 classes).
AddingTask: the adding problem at a given length; regression of the sum of the two marked values (MSE), with
  'accuracy' reported as the fraction of predictions within 0.04 of the target (a common success criterion).
Eval sets are fixed: generated once from a fixed key (test digits for spike adding).
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from common.data import pipeline
from common.data.synthetic import sequences
from common.train import tasks
from common.train.errors import ConfigurationError

_EVAL_KEY = 12345


def _eval_batches(make, num_eval: int, batch_size: int) -> list[dict]:
  batches = []
  for i in range(0, num_eval, batch_size):
    b = jax.device_get(make(jax.random.PRNGKey(_EVAL_KEY + i), batch_size))
    b = {k: np.asarray(v) for k, v in b.items()}
    b['weight'] = np.ones((batch_size,), np.float32)
    batches.append(b)
  return batches


@dataclasses.dataclass
class SpikeAddingTask:
  gap: int = 50
  batch_size: int = 32
  steps_per_digit: int = 20
  max_prob: float = 0.5
  num_eval: int = 512
  eval_batch_size: int = 256
  num_classes: int = 19
  data: pipeline.ArrayDataset | None = None

  def __post_init__(self):
    if self.gap < 0:
      raise ConfigurationError(f'gap={self.gap} must be non-negative.')
    if self.batch_size < 1:
      raise ConfigurationError(f'batch_size={self.batch_size} must be at least 1.')
    self._data = self.data

  def _dataset(self):
    if self._data is None:
      self._data = pipeline.load_tfds('sklearn_digits', scale=1 / 16)
    return self._data

  def train_arrays(self):
    d = self._dataset()
    return {'images': d.train['inputs'], 'labels': d.train['targets']}

  def _batch(self, images, labels, key, batch):
    return sequences.spike_adding_batch(key, images, labels, batch, self.gap, self.steps_per_digit, self.max_prob)

  def train_batch(self, arrays, key, step):
    return self._batch(arrays['images'], arrays['labels'], jax.random.fold_in(key, step), self.batch_size)

  def eval_batches(self):
    d = self._dataset()
    images, labels = jnp.asarray(d.eval['inputs']), jnp.asarray(d.eval['targets'])
    make = jax.jit(lambda k, b: self._batch(images, labels, k, b), static_argnums=1)
    return _eval_batches(make, self.num_eval, min(self.eval_batch_size, self.num_eval))

  def init_inputs(self):
    return jnp.zeros((2, 2 * self.steps_per_digit + self.gap, 64))

  def loss(self, logits, batch):
    return tasks.softmax_classification_loss(logits, batch)


@dataclasses.dataclass
class AddingTask:
  length: int = 200
  batch_size: int = 32
  num_eval: int = 512
  eval_batch_size: int = 256
  tolerance: float = 0.04

  def __post_init__(self):
    if self.length < 2:
      raise ConfigurationError(f'length={self.length} must be at least 2.')

  def train_arrays(self):
    return {}

  def train_batch(self, arrays, key, step):
    return sequences.adding_batch(jax.random.fold_in(key, step), self.batch_size, self.length)

  def eval_batches(self):
    make = jax.jit(lambda k, b: sequences.adding_batch(k, b, self.length), static_argnums=1)
    return _eval_batches(make, self.num_eval, min(self.eval_batch_size, self.num_eval))

  def init_inputs(self):
    return jnp.zeros((2, self.length, 2))

  def loss(self, pred, batch):
    err = pred[:, 0] - batch['targets'][:, 0]
    w = batch.get('weight', jnp.ones_like(err))
    norm = jnp.maximum(jnp.sum(w), 1.0)
    mse = jnp.sum(err**2 * w) / norm
    acc = jnp.sum((jnp.abs(err) < self.tolerance) * w) / norm
    return mse, {'loss': mse, 'accuracy': acc}
