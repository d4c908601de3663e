"""Tasks whose loss is the CTM tick-selection loss (duck-typed like common/train/tasks.py).

Models return {'predictions': (B, T, out_dims), 'certainties': (B, T)}. Metrics (weighted means): loss,
accuracy (at the most certain tick, as the reference reports), accuracy_last (at tick T), accuracy_best
(best tick per example, an upper bound), mean_certain_tick (1-based tick the accuracy is read at).
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax

from common.ctm import losses as ctm_losses
from common.data.synthetic import parity
from common.train.errors import ConfigurationError
from common.train.tasks import SupervisedTask, weighted_mean


def _tick_metrics(outputs, batch, targets, reshaper, use_most_certain, per_tick=False):
  preds, certs = outputs['predictions'], outputs['certainties']
  ce = ctm_losses.per_tick_cross_entropy(preds, targets, reshaper)
  loss, _, t2 = ctm_losses.tick_loss(ce, certs, use_most_certain, batch.get('weight'))
  acc = ctm_losses.per_tick_accuracy(preds, targets, reshaper)
  _, most_certain = ctm_losses.select_ticks(ce, certs, True)
  at = lambda t: jnp.take_along_axis(acc, t[:, None], 1)[:, 0]  # noqa: E731
  metrics = {
    'loss': loss,
    'accuracy': weighted_mean(at(most_certain), batch),
    'accuracy_last': weighted_mean(acc[:, -1], batch),
    'accuracy_best': weighted_mean(acc.max(1), batch),
    'mean_certain_tick': weighted_mean(most_certain.astype(jnp.float32) + 1.0, batch),
  }
  if not use_most_certain:
    metrics['accuracy_trained_tick'] = weighted_mean(at(t2), batch)
  if per_tick:  # accuracy and certainty at every tick, for accuracy-per-tick plots
    for t in range(acc.shape[1]):
      metrics[f'tick{t + 1:03d}_accuracy'] = weighted_mean(acc[:, t], batch)
      metrics[f'tick{t + 1:03d}_certainty'] = weighted_mean(certs[:, t], batch)
  return loss, metrics


@dataclasses.dataclass
class CTMClassificationTask(SupervisedTask):
  """In-memory classification (e.g. digits) with the CTM loss; targets (B,) int."""

  num_classes: int = 10
  use_most_certain: bool = True
  per_tick_metrics: bool = False

  def loss(self, outputs, batch):
    return _tick_metrics(
      outputs, batch, batch['targets'], (self.num_classes,), self.use_most_certain, self.per_tick_metrics
    )


@dataclasses.dataclass
class ParityTask:
  """Cumulative parity of length `length`, training batches drawn inside the step from fold_in(key, step).

  Model out_dims must be 2 * length with prediction_reshaper (length, 2).
  """

  length: int = 16
  batch_size: int = 64
  eval_examples: int = 1024
  eval_batch_size: int = 512
  use_most_certain: bool = True
  per_tick_metrics: bool = False

  def __post_init__(self):
    if self.length < 1:
      raise ConfigurationError(f'ParityTask.length={self.length} must be at least 1.')
    if self.batch_size < 1:
      raise ConfigurationError(f'ParityTask.batch_size={self.batch_size} must be at least 1.')

  @property
  def reshaper(self):
    return (self.length, 2)

  def train_arrays(self):
    return {}

  def train_batch(self, arrays, key, step):
    return parity.parity_batch(jax.random.fold_in(key, step), self.batch_size, self.length)

  def eval_batches(self):
    data = parity.parity_eval_set(self.eval_examples, self.length)
    out = []
    for i in range(0, self.eval_examples, self.eval_batch_size):
      chunk = {k: v[i : i + self.eval_batch_size] for k, v in data.items()}
      chunk['weight'] = np.ones(len(chunk['inputs']), np.float32)
      out.append(chunk)
    return out

  def init_inputs(self):
    return np.ones((2, self.length), np.float32)

  def loss(self, outputs, batch):
    return _tick_metrics(outputs, batch, batch['targets'], self.reshaper, self.use_most_certain, self.per_tick_metrics)


def sort_batch(key: jax.Array, batch_size: int, length: int) -> dict[str, jax.Array]:
  """{'inputs': (B, N) N(0,1) values, 'targets': (B, N) int32 indices that sort them ascending} (reference sort)."""
  values = jax.random.normal(key, (batch_size, length))
  return {'inputs': values, 'targets': jnp.argsort(values, axis=-1).astype(jnp.int32)}


def greedy_ctc_decode(logits: jax.Array, blank: int, max_len: int) -> tuple[jax.Array, jax.Array]:
  """(B, T, C) -> (decoded (B, max_len) padded with -1, lengths (B,)): argmax, merge repeats, drop blanks."""
  best = jnp.argmax(logits, -1)
  prev = jnp.concatenate([jnp.full_like(best[:, :1], -1), best[:, :-1]], axis=1)
  keep = (best != blank) & (best != prev)
  pos = jnp.cumsum(keep, axis=1) - 1
  pos = jnp.where(keep & (pos < max_len), pos, max_len)  # dropped entries go to an overflow slot
  decoded = jnp.full((best.shape[0], max_len + 1), -1, best.dtype)
  decoded = jax.vmap(lambda d, p, v: d.at[p].set(v))(decoded, pos, best)
  return decoded[:, :max_len], keep.sum(1)


@dataclasses.dataclass
class SortTask:
  """Sort N real numbers; the CTM emits one distribution over N indices + blank per tick, trained with CTC.

  Model out_dims must be length + 1 (blank = last class) and iterations >= length. Metrics: loss (CTC),
  sequence_accuracy (greedy decode equals the sorting permutation), element_accuracy.
  """

  length: int = 8
  batch_size: int = 64
  eval_examples: int = 1024
  eval_batch_size: int = 512

  def __post_init__(self):
    if self.length < 2:
      raise ConfigurationError(f'SortTask.length={self.length} must be at least 2.')

  def train_arrays(self):
    return {}

  def train_batch(self, arrays, key, step):
    return sort_batch(jax.random.fold_in(key, step), self.batch_size, self.length)

  def eval_batches(self):
    data = jax.device_get(sort_batch(jax.random.PRNGKey(4321), self.eval_examples, self.length))
    out = []
    for i in range(0, self.eval_examples, self.eval_batch_size):
      chunk = {k: np.asarray(v[i : i + self.eval_batch_size]) for k, v in data.items()}
      chunk['weight'] = np.ones(len(chunk['inputs']), np.float32)
      out.append(chunk)
    return out

  def init_inputs(self):
    return np.zeros((2, self.length), np.float32)

  def loss(self, outputs, batch):
    logits = outputs['predictions']
    b, t, _ = logits.shape
    labels = batch['targets']
    per_example = (
      optax.ctc_loss(logits, jnp.zeros((b, t)), labels, jnp.zeros(labels.shape), blank_id=self.length) / self.length
    )
    loss = weighted_mean(per_example, batch)
    decoded, lengths = greedy_ctc_decode(logits, self.length, self.length)
    element = (decoded == labels).astype(jnp.float32).mean(1)
    exact = jnp.all(decoded == labels, axis=1) & (lengths == self.length)
    return loss, {
      'loss': loss,
      'sequence_accuracy': weighted_mean(exact.astype(jnp.float32), batch),
      'element_accuracy': weighted_mean(element, batch),
    }


@dataclasses.dataclass
class ShapeOnlyTask:
  """The shapes of a task whose data are not available offline (ImageNet, the reference's mazes).

  It lets a paper-scale config parse and build its model under --dry_run (abstract shapes only). Training fails
  with a clear message: these datasets need a streaming input pipeline (or a prepared TFDS data_dir) that this
  repository does not provide yet. The loss is the CTM tick loss with per-position cross-entropy over
  `prediction_reshaper` (for mazes this omits the reference's auto-curriculum).
  """

  name: str
  input_shape: tuple = (224, 224, 3)
  prediction_reshaper: tuple = (1000,)
  batch_size: int = 64
  use_most_certain: bool = True

  def _unavailable(self):
    raise ConfigurationError(
      f'ShapeOnlyTask({self.name!r}) has no data: this config only builds under --dry_run. Training it needs a '
      'streaming input pipeline for this dataset, which this repository does not provide.'
    )

  def train_arrays(self):
    self._unavailable()

  def train_batch(self, arrays, key, step):
    self._unavailable()

  def eval_batches(self):
    self._unavailable()

  def init_inputs(self):
    return np.zeros((2,) + tuple(self.input_shape), np.float32)

  def loss(self, outputs, batch):
    return _tick_metrics(outputs, batch, batch['targets'], self.prediction_reshaper, self.use_most_certain)


@dataclasses.dataclass
class TickLoss:
  """The CTM tick loss and its metrics (as CTMClassificationTask's) for a task that brings its own data, e.g.
  common.data.streaming_task.StreamingClassificationTask(objective=TickLoss(...)) on a streamed TFDS dataset.

  Outputs {'predictions': (B, T, prod(prediction_reshaper)), 'certainties': (B, T)}; targets (B,) int.
  """

  prediction_reshaper: tuple = (10,)
  use_most_certain: bool = True
  per_tick_metrics: bool = False

  def loss(self, outputs, batch):
    reshaper = tuple(self.prediction_reshaper)
    return _tick_metrics(outputs, batch, batch['targets'], reshaper, self.use_most_certain, self.per_tick_metrics)
