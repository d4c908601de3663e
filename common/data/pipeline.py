"""TFDS datasets as in-memory arrays, and deterministic batching as a pure function of (seed, step).

Small and medium datasets (everything this repo trains on a CPU) are loaded whole once and kept on the
accelerator (common/data/streaming.py streams the large ones instead). A batch is then gathered *inside* the
jitted train step from indices that depend only on (seed, step), so there is no host round-trip per step and a
resumed run sees exactly the batches a run that was never stopped would have seen.
"""

import dataclasses
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from common.data import tfds_sources

Arrays = Mapping[str, Any]

DEFAULT_DATA_DIR_ENV = tfds_sources.DEFAULT_DATA_DIR_ENV


@dataclasses.dataclass(frozen=True)
class ArrayDataset:
  """Train and eval splits as dicts of equal-length numpy arrays, e.g. {'inputs': (N, ...), 'targets': (N,)}."""

  train: Arrays
  eval: Arrays
  name: str = 'dataset'

  def __post_init__(self):
    for split_name, split in (('train', self.train), ('eval', self.eval)):
      lengths = {k: len(v) for k, v in split.items()}
      if len(set(lengths.values())) != 1:
        raise ValueError(f'{self.name}: arrays of the {split_name} split differ in length: {lengths}')

  @property
  def num_train(self) -> int:
    return len(next(iter(self.train.values())))

  @property
  def num_eval(self) -> int:
    return len(next(iter(self.eval.values())))

  def example_inputs(self, n: int = 2):
    return self.train['inputs'][:n]


default_data_dir = tfds_sources.default_data_dir


class TFDSDataset:
  """A TFDS dataset loaded into memory on first use, as {'inputs': float32, 'targets': int32} arrays.

  Nothing is read at construction, so a dry run (shapes only) works where the data are not prepared, e.g.
  paper-scale configs on a laptop: `example_inputs` then comes from the builder's feature spec.
  """

  def __init__(self, name, *, data_dir, train_split, eval_split, input_key, target_key, scale, download=False):
    self.name, self.data_dir, self.download = name, data_dir, download
    self.train_split, self.eval_split = train_split, eval_split
    self.input_key, self.target_key, self.scale = input_key, target_key, scale
    self._loaded: ArrayDataset | None = None
    tfds_sources.register(self)  # so the launcher can check that the data are prepared before a run writes anything

  def _builder(self):
    return tfds_sources.builder(self.name, self.data_dir, parameter='pipeline.load_tfds.name')

  def check_prepared(self):
    """ConfigurationError now, before a run writes anything, if the data cannot be read (see tfds_sources).

    Offline builders are prepared here; other datasets only with download=True.
    """
    builder = tfds_sources.ensure_prepared(
      self.name,
      self.data_dir,
      download=self.download,
      parameter='pipeline.load_tfds.name',
      download_parameter='pipeline.load_tfds.download',
    )
    for parameter, split_name in (
      ('pipeline.load_tfds.train_split', self.train_split),
      ('pipeline.load_tfds.eval_split', self.eval_split),
    ):
      tfds_sources.check_split(builder, split_name, parameter=parameter)
    return builder

  def raw_split(self, which: str) -> dict[str, np.ndarray]:
    """{'inputs': (N, ...) as stored (uint8 images stay uint8), 'targets': (N,) int32} of 'train' or 'eval'.

    Unscaled: multiply the inputs by `scale` (in float32) to get what `train` / `eval` hold. Task streams keep
    this form on the device (a quarter of the float32 size) and scale inside the step.
    """
    builder = self.check_prepared()
    split_name = {'train': self.train_split, 'eval': self.eval_split}[which]
    raw = tfds_sources.read_split(builder, split_name, (self.input_key, self.target_key))
    return {'inputs': raw[self.input_key], 'targets': raw[self.target_key].astype(np.int32)}

  @property
  def num_classes(self) -> int | None:
    """The number of classes of the label feature (a ClassLabel), from the feature spec; None for other labels."""
    feature = self._builder().info.features[self.target_key]
    return getattr(feature, 'num_classes', None)

  def _load(self) -> ArrayDataset:
    if self._loaded is None:

      def split(which):
        raw = self.raw_split(which)
        return {'inputs': raw['inputs'].astype(np.float32) * np.float32(self.scale), 'targets': raw['targets']}

      self._loaded = ArrayDataset(train=split('train'), eval=split('eval'), name=self.name)
    return self._loaded

  train = property(lambda self: self._load().train)
  eval = property(lambda self: self._load().eval)
  num_train = property(lambda self: self._load().num_train)
  num_eval = property(lambda self: self._load().num_eval)

  def example_inputs(self, n: int = 2):
    if self._loaded is not None:
      return self._loaded.example_inputs(n)
    shape = self._builder().info.features[self.input_key].shape
    return np.zeros((n, *shape), np.float32)


def load_tfds(
  name: str,
  *,
  data_dir: str | None = None,
  train_split: str = 'train',
  eval_split: str = 'test',
  input_key: str = 'image',
  target_key: str = 'label',
  scale: float = 1.0,
  download: bool = False,
) -> TFDSDataset:
  """A TFDS dataset as in-memory arrays (loaded lazily, on first use).

  Args:
    name: TFDS name, e.g. 'sklearn_digits' (offline builder shipped in common/data/builders) or 'mnist'
      (needs prepared data in `data_dir`).
    data_dir: TFDS data directory; default $TFDS_DATA_DIR or ~/tensorflow_datasets.
    train_split, eval_split: TFDS split names (slicing like 'train[:90%]' works).
    input_key, target_key: feature names of the inputs and the labels.
    scale: inputs are multiplied by this (e.g. 1/16 for digits, 1/255 for 8-bit images).
    download: let this run download and prepare a dataset missing from `data_dir` (off by default: a missing
      dataset is a ConfigurationError that says how to prepare it). The offline builders are always prepared.

  Datasets prepared as ArrayRecord are read with tfds.data_source (no TensorFlow in the process); TFRecord ones
  with tf.data.
  """
  return TFDSDataset(
    name,
    data_dir=data_dir or default_data_dir(),
    train_split=train_split,
    eval_split=eval_split,
    input_key=input_key,
    target_key=target_key,
    scale=scale,
    download=download,
  )


def epoch_permutation(key: jax.Array, epoch: jax.Array, num_examples: int) -> jax.Array:
  """The order of the training set in one epoch: a permutation that depends only on (key, epoch)."""
  return jax.random.permutation(jax.random.fold_in(key, epoch), num_examples)


def batch_at_step(arrays: Arrays, key: jax.Array, step: jax.Array, batch_size: int) -> dict[str, jax.Array]:
  """The training batch for `step`: shuffled without replacement within an epoch; the remainder is dropped.

  Traceable (call it inside jit). `arrays` are device arrays with a leading example axis of length N >=
  batch_size.
  """
  num_examples = len(next(iter(arrays.values())))
  steps_per_epoch = num_examples // batch_size
  epoch, within = jnp.divmod(step, steps_per_epoch)
  order = epoch_permutation(key, epoch, num_examples)
  idx = jax.lax.dynamic_slice_in_dim(order, within * batch_size, batch_size)
  return {k: jnp.take(v, idx, axis=0) for k, v in arrays.items()}


def eval_batches(arrays: Arrays, batch_size: int):
  """Fixed-size eval batches over the whole split, the last one padded; 'weight' is 0 on padding.

  Yields dicts of numpy arrays, each with the same shapes (so the eval step compiles once).
  """
  n = len(next(iter(arrays.values())))
  batch_size = min(batch_size, n)
  for start in range(0, n, batch_size):
    stop = min(start + batch_size, n)
    pad = batch_size - (stop - start)
    batch = {k: np.concatenate([v[start:stop], np.zeros((pad,) + v.shape[1:], v.dtype)]) for k, v in arrays.items()}
    batch['weight'] = np.concatenate([np.ones(stop - start, np.float32), np.zeros(pad, np.float32)])
    yield batch
