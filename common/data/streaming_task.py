"""A classification task fed by the streaming pipeline (streaming.py) instead of in-memory arrays.

Interface (what a training loop calls):

  init_inputs() -> (2, *input_shape) float32 zeros    model initialisation; from the feature spec, no data read
  loss(logits, batch) -> (loss, metrics)               as tasks.ClassificationTask: cross-entropy (label
                                                       smoothing optional), accuracy; 'weight'-aware means; or
                                                       objective.loss(outputs, batch) when an objective is given
                                                       (e.g. the CTM's tick loss, common.ctm.tasks.TickLoss)
  check_prepared()                                     ConfigurationError if the data cannot be read (call it
                                                       before a run writes anything; dry runs skip it)
  train_iterator(seed, process_index=None, process_count=None, start_step=0) -> streaming.TrainIterator
      next(it) -> {'inputs': (B/P, *input_shape) float32, 'targets': (B/P,) int32}: process p's slice of the
      global batch of step it.step (B = batch_size, P = process_count). The global batch of step s is a pure
      function of (seed, s), the same for any P. it.get_state() -> JSON-able dict (save it in the run's checkpoint),
      it.set_state(state) resumes bitwise; it.close() ends grain's workers. A loop assembles the global batch with
      jax.make_array_from_process_local_data(sharding, batch).
  eval_batches(process_index=None, process_count=None) -> streaming.EvalBatches
      re-iterable; each batch {'inputs', 'targets', 'weight'} is process p's slice (eval_batch_size / P examples)
      of a fixed-size global eval batch; 'weight' is 0 on the padding of the last one.

process_index and process_count default to jax.process_index() and jax.process_count().

The in-memory tasks (tasks.ClassificationTask with pipeline.load_tfds) stay the choice for small datasets: there
the batch is gathered on the device inside the step.
"""

import dataclasses
from typing import Any, Callable

import numpy as np

from common.data import preprocess, streaming
from common.train import tasks
from common.train.errors import ConfigurationError


@dataclasses.dataclass
class StreamingClassificationTask:
  """Classification on a TFDS dataset streamed by grain (see the module docstring for the interface).

  Args:
    data: the dataset, e.g. streaming.TFDSStream('cifar10').
    batch_size: the GLOBAL batch size B (each process reads B / process_count).
    eval_batch_size: the global eval batch size.
    num_classes: number of classes of the labels.
    label_smoothing: as in tasks.ClassificationTask.
    train_transform: per-example training transform (preprocess.PadCropFlip, preprocess.InceptionCropFlip, ...),
      called with a generator seeded by (seed, epoch, record index).
    eval_transform: deterministic eval transform (preprocess.Normalize, preprocess.CenterCrop).
    worker_count, read_threads, prefetch: grain's worker processes, reading threads per worker and batches kept
      ready (streaming.LoaderOptions).
    objective: any object with loss(outputs, batch) -> (loss, metrics) that replaces the cross-entropy, for models
      whose outputs are not plain logits (common.ctm.tasks.TickLoss for the CTM); None: cross-entropy.
  """

  data: streaming.TFDSStream
  batch_size: int = 128
  eval_batch_size: int = 512
  num_classes: int = 10
  label_smoothing: float = 0.0
  train_transform: Callable = preprocess.Normalize()
  eval_transform: Callable = preprocess.Normalize()
  worker_count: int = 0
  read_threads: int = 1
  prefetch: int = 2
  objective: Any = None

  def __post_init__(self):
    if self.batch_size < 1:
      raise ConfigurationError(f'batch_size={self.batch_size} must be at least 1.')
    self.options = streaming.LoaderOptions(self.worker_count, self.read_threads, self.prefetch)
    stored = self.data.input_shape()
    train_shape = self.train_transform.output_shape(stored)
    eval_shape = self.eval_transform.output_shape(stored)
    if None in train_shape or None in eval_shape:
      raise ConfigurationError(
        f'{self.data.name} stores images of varying size {stored}; choose train_transform and eval_transform that '
        'crop to a fixed size (preprocess.InceptionCropFlip, preprocess.CenterCrop).'
      )
    if train_shape != eval_shape:
      raise ConfigurationError(
        f'train_transform gives inputs of shape {train_shape} but eval_transform gives {eval_shape}; make them '
        'agree (e.g. the same size).'
      )
    self.input_shape = train_shape

  def check_prepared(self) -> None:
    self.data.check_prepared()
    num_train = self.data.num_examples(self.data.train_split)
    if self.batch_size > num_train:
      raise ConfigurationError(
        f'batch_size={self.batch_size} exceeds the {num_train} training examples of {self.data.name}; lower batch_size.'
      )

  def init_inputs(self) -> np.ndarray:
    return np.zeros((2, *self.input_shape), np.float32)

  def loss(self, logits, batch):
    if self.objective is not None:
      return self.objective.loss(logits, batch)
    # The in-memory task's loss, so both paths train and report the same quantities.
    return tasks.ClassificationTask.loss(self, logits, batch)

  @staticmethod
  def _process(process_index, process_count) -> tuple[int, int]:
    if process_index is None or process_count is None:
      import jax

      process_index = jax.process_index() if process_index is None else process_index
      process_count = jax.process_count() if process_count is None else process_count
    return process_index, process_count

  def train_iterator(
    self, seed: int, process_index: int | None = None, process_count: int | None = None, start_step: int = 0
  ) -> streaming.TrainIterator:
    process_index, process_count = self._process(process_index, process_count)
    self.check_prepared()
    return self.data.train_iterator(
      seed=seed,
      batch_size=self.batch_size,
      transform=self.train_transform,
      process_index=process_index,
      process_count=process_count,
      options=self.options,
      start_step=start_step,
    )

  def eval_batches(self, process_index: int | None = None, process_count: int | None = None) -> streaming.EvalBatches:
    process_index, process_count = self._process(process_index, process_count)
    self.data.check_prepared()
    return self.data.eval_batches(
      batch_size=self.eval_batch_size,
      transform=self.eval_transform,
      process_index=process_index,
      process_count=process_count,
      options=self.options,
    )
