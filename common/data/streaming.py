"""The streaming input pipeline: a prepared TFDS dataset (ArrayRecord, `tfds.data_source`) read by grain.

For datasets too large to keep on the device (cifar, imagenet2012, ...). Each process reads only its slice of every
global batch (order.py), applies a per-example transform seeded by (seed, epoch, record index) (preprocess.py), and
stacks the slice into one numpy batch. grain runs that in `worker_count` processes (each with `read_threads`
threads) and keeps `prefetch` batches ready. The batch of step s is a pure function of (seed, s) whatever the
worker, thread or process counts, so an iterator's whole state is the next step: `get_state()` -> a small JSON-able
dict, `set_state(state)` resumes there bitwise, mid-epoch included.

Nothing here imports TensorFlow or JAX; grain's worker processes import this module and numpy, TFDS and PIL only.

  stream = TFDSStream('cifar10', data_dir=...)
  it = stream.train_iterator(seed=0, batch_size=128, transform=preprocess.PadCropFlip(), process_index=0,
                             process_count=1, options=LoaderOptions(worker_count=2))
  batch = next(it)          # {'inputs': (128, 32, 32, 3) float32, 'targets': (128,) int32}
  state = it.get_state()    # {'step': 1, ...}; TFDSStream(...).train_iterator(...).set_state(state) continues
"""

import dataclasses
from typing import Any, Callable, Iterator

import numpy as np

from common.data import order as order_lib
from common.data import preprocess, tfds_sources
from common.train.errors import ConfigurationError

# A training stream has no end; grain's range dataset needs a length, so this stands in for infinity.
_ENDLESS = 2**62


@dataclasses.dataclass(frozen=True)
class LoaderOptions:
  """How grain reads: `worker_count` processes (0: read in this process), each with `read_threads` threads
  (0: no threads), and `prefetch` batches buffered per worker (and per thread pool)."""

  worker_count: int = 0
  read_threads: int = 1
  prefetch: int = 2

  def __post_init__(self):
    for name in ('worker_count', 'read_threads', 'prefetch'):
      if getattr(self, name) < 0:
        raise ConfigurationError(f'{name}={getattr(self, name)} must be >= 0.')


@dataclasses.dataclass(frozen=True)
class _SplitSource:
  """A split of a prepared dataset, opened lazily in whichever process reads it (pickles as four strings)."""

  name: str
  data_dir: str
  split: str

  def open(self):
    if '_source' not in self.__dict__:
      b = tfds_sources.builder(self.name, self.data_dir)
      object.__setattr__(self, '_source', tfds_sources.random_access_source(b, self.split))
    return self.__dict__['_source']

  def __getstate__(self):
    return {'name': self.name, 'data_dir': self.data_dir, 'split': self.split}

  def __setstate__(self, state):
    self.__dict__.update(state)


def _examples(source: _SplitSource, indices: np.ndarray) -> list[dict[str, Any]]:
  return source.open().__getitems__([int(i) for i in indices])


@dataclasses.dataclass(frozen=True)
class TrainBatchReader:
  """step -> this process's slice of the global batch of `step`: {'inputs': (b, ...) float32, 'targets': (b,) int32}.

  A pure function of the step (grain calls it in worker processes; it pickles small).
  """

  source: _SplitSource
  order: order_lib.TrainOrder
  transform: Callable
  process_index: int
  process_count: int
  input_key: str
  target_key: str

  def __call__(self, step: int) -> dict[str, np.ndarray]:
    indices = self.order.process_batch(step, self.process_index, self.process_count)
    epoch, seed = self.order.epoch_of(step), self.order.seed
    examples = _examples(self.source, indices)
    inputs = [
      self.transform(e[self.input_key], order_lib.example_rng(seed, epoch, int(i))) for e, i in zip(examples, indices)
    ]
    return {
      'inputs': np.stack(inputs).astype(np.float32, copy=False),
      'targets': np.asarray([e[self.target_key] for e in examples], np.int32),
    }


@dataclasses.dataclass(frozen=True)
class EvalBatchReader:
  """i -> this process's slice of eval batch i: {'inputs', 'targets', 'weight' (b,) float32, 0 on padding}."""

  source: _SplitSource
  order: order_lib.EvalOrder
  transform: Callable
  process_index: int
  input_key: str
  target_key: str

  def __call__(self, i: int) -> dict[str, np.ndarray]:
    indices, weight = self.order.process_batch(i, self.process_index)
    examples = _examples(self.source, indices)
    return {
      'inputs': np.stack([self.transform(e[self.input_key], None) for e in examples]).astype(np.float32, copy=False),
      'targets': np.asarray([e[self.target_key] for e in examples], np.int32),
      'weight': weight,
    }


def _grain_iterator(read: Callable[[int], Any], start: int, stop: int, options: LoaderOptions) -> Iterator:
  """grain iterator over read(start), read(start + 1), ..., read(stop - 1), in that order."""
  import grain

  ds = grain.MapDataset.range(start, stop).map(read)
  it = ds.to_iter_dataset(grain.ReadOptions(num_threads=options.read_threads, prefetch_buffer_size=options.prefetch))
  if options.worker_count:
    from absl import flags

    if not flags.FLAGS.is_parsed():  # grain's workers read absl flags; outside the launcher nobody parsed them
      flags.FLAGS.mark_as_parsed()
    it = it.mp_prefetch(
      grain.MultiprocessingOptions(num_workers=options.worker_count, per_worker_buffer_size=max(options.prefetch, 1))
    )
  return iter(it)


class TrainIterator:
  """Endless per-process training batches; the state is the next step (see the module docstring).

  get_state() -> {'step', 'seed', 'batch_size', 'dataset', 'num_records'} (JSON-able). set_state(state) moves to
  state['step'] and refuses a state from another seed, batch size or dataset (ValueError). The process count
  may differ on restore: the global batches do not depend on it. close() ends grain's worker processes.
  """

  def __init__(self, reader: TrainBatchReader, options: LoaderOptions, dataset: str, start_step: int = 0):
    self._reader, self._options, self._dataset = reader, options, dataset
    self._step = start_step
    self._it = None

  @property
  def step(self) -> int:
    """The step of the batch the next call to next() returns."""
    return self._step

  def __iter__(self):
    return self

  def __next__(self) -> dict[str, np.ndarray]:
    if self._it is None:  # started lazily, so set_state() right after construction starts no workers
      self._it = _grain_iterator(self._reader, self._step, _ENDLESS, self._options)
    batch = next(self._it)
    self._step += 1
    return batch

  def _identity(self) -> dict[str, Any]:
    o = self._reader.order
    return {'seed': o.seed, 'batch_size': o.batch_size, 'dataset': self._dataset, 'num_records': o.num_records}

  def get_state(self) -> dict[str, Any]:
    return {'step': self._step, **self._identity()}

  def set_state(self, state: dict[str, Any]) -> None:
    mine = self._identity()
    theirs = {k: state.get(k) for k in mine}
    if theirs != mine:
      raise ValueError(f'iterator state {theirs} comes from another stream than this one {mine}.')
    self.close()
    self._step = int(state['step'])

  def close(self) -> None:
    it, self._it = self._it, None
    if it is not None and hasattr(it, 'close'):
      it.close()

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()


class EvalBatches:
  """Re-iterable eval batches of one process (len() of them); each pass reads the split again through grain."""

  def __init__(self, reader: EvalBatchReader, options: LoaderOptions):
    self._reader, self._options = reader, options

  def __len__(self) -> int:
    return len(self._reader.order)

  def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
    it = _grain_iterator(self._reader, 0, len(self), self._options)
    try:
      yield from it
    finally:
      if hasattr(it, 'close'):
        it.close()


class TFDSStream:
  """A TFDS dataset read through grain: per-process training and eval batches. Nothing is read at construction.

  Args:
    name: TFDS name, e.g. 'cifar10', 'imagenet2012', 'sklearn_digits'.
    data_dir: TFDS data directory (default $TFDS_DATA_DIR or ~/tensorflow_datasets).
    train_split, eval_split: TFDS split names (slicing such as 'train[:90%]' works).
    input_key, target_key: feature names of the image and the label.
    download: let the run download and prepare a missing dataset (off: a ConfigurationError says how to prepare
      it). Offline builders (common/data/builders) are always prepared.
  """

  def __init__(
    self,
    name: str,
    *,
    data_dir: str | None = None,
    train_split: str = 'train',
    eval_split: str = 'test',
    input_key: str = 'image',
    target_key: str = 'label',
    download: bool = False,
  ):
    self.name, self.data_dir = name, data_dir or tfds_sources.default_data_dir()
    self.train_split, self.eval_split = train_split, eval_split
    self.input_key, self.target_key, self.download = input_key, target_key, download
    self._prepared = None
    tfds_sources.register(self)  # so the launcher can check that the data are prepared before a run writes anything

  def check_prepared(self):
    """The prepared builder, or a ConfigurationError naming the dataset, the data_dir and how to prepare it."""
    if self._prepared is None:
      b = tfds_sources.ensure_prepared(
        self.name,
        self.data_dir,
        download=self.download,
        random_access=True,
        parameter='streaming.TFDSStream.name',
        download_parameter='streaming.TFDSStream.download',
      )
      tfds_sources.check_split(b, self.train_split, parameter='streaming.TFDSStream.train_split')
      tfds_sources.check_split(b, self.eval_split, parameter='streaming.TFDSStream.eval_split')
      self._prepared = b
    return self._prepared

  def input_shape(self) -> tuple:
    """Shape of one stored input (None for variable sizes, e.g. imagenet2012's (None, None, 3)); needs no data."""
    b = tfds_sources.builder(self.name, self.data_dir, parameter='streaming.TFDSStream.name')
    if self.input_key not in b.info.features:
      raise ConfigurationError(
        f'streaming.TFDSStream.input_key={self.input_key!r}: {self.name} has the features {sorted(b.info.features)}.'
      )
    return tuple(b.info.features[self.input_key].shape)

  def num_examples(self, split: str) -> int:
    return self.check_prepared().info.splits[split].num_examples

  def train_iterator(
    self,
    *,
    seed: int,
    batch_size: int,
    transform: Callable = preprocess.Normalize(),
    process_index: int = 0,
    process_count: int = 1,
    options: LoaderOptions = LoaderOptions(),
    start_step: int = 0,
  ) -> TrainIterator:
    """Endless batches of `batch_size // process_count` examples: this process's slice of each global batch."""
    order = order_lib.TrainOrder(self.num_examples(self.train_split), batch_size, seed)
    order_lib.check_process(process_index, process_count, batch_size, parameter='batch_size')
    reader = TrainBatchReader(
      _SplitSource(self.name, self.data_dir, self.train_split),
      order,
      transform,
      process_index,
      process_count,
      self.input_key,
      self.target_key,
    )
    return TrainIterator(reader, options, f'{self.name}:{self.train_split}', start_step)

  def eval_batches(
    self,
    *,
    batch_size: int,
    transform: Callable = preprocess.Normalize(),
    process_index: int = 0,
    process_count: int = 1,
    options: LoaderOptions = LoaderOptions(),
  ) -> EvalBatches:
    """This process's slices of fixed-size global eval batches over the whole split (the last one padded)."""
    order = order_lib.EvalOrder(self.num_examples(self.eval_split), batch_size, process_count)
    reader = EvalBatchReader(
      _SplitSource(self.name, self.data_dir, self.eval_split),
      order,
      transform,
      process_index,
      self.input_key,
      self.target_key,
    )
    return EvalBatches(reader, options)
