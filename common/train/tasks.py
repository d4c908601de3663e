"""Supervised tasks: the data, the loss and the metrics a training loop needs, and nothing else.

A task is any object with this interface (duck-typed; the loop calls only these):

  train_arrays() -> dict of numpy arrays        kept on device, passed into the jitted step
  train_batch(arrays, key, step) -> batch       traceable; a pure function of (key, step)
  eval_batches() -> list of batches             fixed-size numpy batches with a 'weight' entry (0 = padding)
  init_inputs() -> inputs                       a small example input for model initialisation
  loss(outputs, batch) -> (loss, metrics)       scalar loss and a dict of scalar metrics (weighted means)

Batches are dicts with 'inputs' and 'targets'. The model is called as `model.apply(variables,
batch['inputs'], train=...)`.
"""

import dataclasses

import jax
import jax.numpy as jnp
import optax

from common.data import pipeline
from common.train.errors import ConfigurationError


def weighted_mean(values: jax.Array, batch) -> jax.Array:
  """Mean over the batch, ignoring padded examples when the batch carries a 'weight' entry."""
  weight = batch.get('weight')
  if weight is None:
    return jnp.mean(values)
  return jnp.sum(values * weight) / jnp.maximum(jnp.sum(weight), 1.0)


def softmax_classification_loss(logits: jax.Array, batch) -> tuple[jax.Array, dict[str, jax.Array]]:
  """Cross-entropy on integer labels batch['targets'] and accuracy, both example-weighted means."""
  labels = batch['targets']
  ce = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
  accuracy = (jnp.argmax(logits, -1) == labels).astype(jnp.float32)
  loss = weighted_mean(ce, batch)
  return loss, {'loss': loss, 'accuracy': weighted_mean(accuracy, batch)}


@dataclasses.dataclass
class SupervisedTask:
  """Shared batching for in-memory datasets. Subclasses define `loss`."""

  data: pipeline.ArrayDataset | pipeline.TFDSDataset
  batch_size: int = 128
  eval_batch_size: int = 512

  def __post_init__(self):
    if self.batch_size < 1 or self.batch_size > self.data.num_train:
      raise ConfigurationError(
        f'batch_size={self.batch_size} must be between 1 and the {self.data.num_train} training examples of '
        f'{self.data.name}; lower batch_size.'
      )

  def train_arrays(self):
    return dict(self.data.train)

  def train_batch(self, arrays, key, step):
    return pipeline.batch_at_step(arrays, key, step, self.batch_size)

  def eval_batches(self):
    return list(pipeline.eval_batches(self.data.eval, self.eval_batch_size))

  def init_inputs(self):
    return self.data.example_inputs(2)


@dataclasses.dataclass
class ClassificationTask(SupervisedTask):
  """Softmax cross-entropy on integer labels; metrics: loss, accuracy."""

  num_classes: int = 10
  label_smoothing: float = 0.0

  def loss(self, logits, batch):
    labels = batch['targets']
    one_hot = jax.nn.one_hot(labels, self.num_classes)
    if self.label_smoothing:
      one_hot = optax.smooth_labels(one_hot, self.label_smoothing)
    ce = optax.softmax_cross_entropy(logits, one_hot)
    accuracy = (jnp.argmax(logits, -1) == labels).astype(jnp.float32)
    loss = weighted_mean(ce, batch)
    return loss, {'loss': loss, 'accuracy': weighted_mean(accuracy, batch)}


@dataclasses.dataclass
class RegressionTask(SupervisedTask):
  """Mean squared error; metrics: loss (MSE) and rmse."""

  def loss(self, predictions, batch):
    sq = jnp.sum((predictions - batch['targets']) ** 2, axis=-1)
    mse = weighted_mean(sq, batch)
    return mse, {'loss': mse, 'rmse': jnp.sqrt(mse)}
