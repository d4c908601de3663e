"""Opening prepared TFDS datasets: one check every reader shares, and no download unless the caller opts in.

A dataset is read only where it is prepared. The offline builders of common/data/builders (they need no network)
are prepared at first use, as ArrayRecord. Any other dataset that is not prepared in `data_dir` is a
ConfigurationError naming the dataset, the data_dir searched and the command that prepares it (TFDS's manual-download
note for datasets such as imagenet2012), unless the caller passed `download=True`.

Reading needs no TensorFlow when the files are ArrayRecord (`tfds.data_source`, random access). Only a dataset
prepared as TFRecord and loaded whole into memory falls back to tf.data, which imports TensorFlow; the streaming
pipeline refuses TFRecord and says how to convert it.
"""

import collections
import contextlib
import os
from typing import Any, Iterator, Sequence

import numpy as np
from absl import logging

from common.train.errors import ConfigurationError

ARRAY_RECORD = 'array_record'
DEFAULT_DATA_DIR_ENV = 'TFDS_DATA_DIR'

# Readers constructed inside `record_readers()` blocks (one list per open block), and the latest whole splits read.
_recording: list[list] = []
_SPLIT_CACHE_SIZE = 4
_split_cache: collections.OrderedDict = collections.OrderedDict()


def register(reader) -> None:
  """Called by every dataset reader (pipeline.TFDSDataset, streaming.TFDSStream) when it is constructed."""
  for readers in _recording:
    readers.append(reader)


@contextlib.contextmanager
def record_readers() -> Iterator[list]:
  """Collects the dataset readers constructed inside the block; each has check_prepared().

  The launcher builds an experiment with a dry run (which reads no data) inside this block, then calls
  check_prepared() on what it collected, so a dataset that is not prepared stops a run before it writes anything.
  """
  readers: list = []
  _recording.append(readers)
  try:
    yield readers
  finally:
    _recording.remove(readers)


def default_data_dir() -> str:
  """$TFDS_DATA_DIR, else ~/tensorflow_datasets (TFDS's own default)."""
  return os.environ.get(DEFAULT_DATA_DIR_ENV, os.path.expanduser('~/tensorflow_datasets'))


def _tfds():
  import tensorflow_datasets as tfds

  import common.data.builders  # noqa: F401  (registers the offline builders)

  return tfds


def offline_builders() -> frozenset[str]:
  from common.data.builders import OFFLINE_BUILDERS

  return OFFLINE_BUILDERS


def builder(name: str, data_dir: str, *, parameter: str = 'name'):
  """The TFDS builder of `name` reading from `data_dir` (nothing is read or written).

  Raises ConfigurationError (naming `parameter`) when TFDS knows no dataset of that name.
  """
  tfds = _tfds()
  try:
    return tfds.builder(name, data_dir=data_dir)
  except tfds.core.registered.DatasetNotFoundError as e:
    first_line = str(e).strip().splitlines()[0]
    raise ConfigurationError(
      f'{parameter}={name!r}: TFDS has no dataset of that name ({first_line}). Check the spelling, or add an offline '
      'builder to common/data/builders.'
    ) from None


def prepare_command(name: str, data_dir: str) -> str:
  """The shell command that prepares `name` in `data_dir` as ArrayRecord."""
  return f'tfds build {name} --data_dir={data_dir} --file_format={ARRAY_RECORD}'


def not_prepared_message(b, name: str, data_dir: str, *, download_parameter: str) -> str:
  """Why `name` cannot be read from `data_dir` and how to prepare it (manual downloads included)."""
  head = f'dataset {name!r} is not prepared in data_dir={data_dir!r} (looked for {b.data_dir}).'
  instructions = getattr(b, 'MANUAL_DOWNLOAD_INSTRUCTIONS', None)
  if instructions:
    manual_dir = f'{data_dir}/downloads/manual'
    note = ' '.join(instructions.split())
    return (
      f'{head} It needs a manual download: {note} Put those files in {manual_dir}, then prepare it once with '
      f'`{prepare_command(name, data_dir)} --manual_dir={manual_dir}`.'
    )
  return (
    f'{head} Prepare it once (this downloads it): `{prepare_command(name, data_dir)}`, or set '
    f'{download_parameter}=True to let this run download and prepare it.'
  )


def has_random_access(b) -> bool:
  """Whether the prepared files of builder `b` include ArrayRecord (readable by tfds.data_source)."""
  return any(f.value == ARRAY_RECORD for f in b.info.available_file_formats())


def ensure_prepared(
  name: str,
  data_dir: str,
  *,
  download: bool = False,
  random_access: bool = False,
  parameter: str = 'name',
  download_parameter: str = 'download',
):
  """The builder of `name`, prepared in `data_dir`, or a ConfigurationError that says how to prepare it.

  Offline builders are prepared here (no network). Other datasets are prepared here only when `download` is
  True. With `random_access`, a dataset prepared only as TFRecord is refused with the conversion command.
  """
  b = builder(name, data_dir, parameter=parameter)
  if not b.is_prepared():
    if name.split(':')[0].split('/')[0] not in offline_builders() and not download:
      raise ConfigurationError(not_prepared_message(b, name, data_dir, download_parameter=download_parameter))
    b.download_and_prepare(file_format=ARRAY_RECORD)
  from common.data.builders import standins

  if standins.is_standin(b):
    logging.warning('%s in %s is a STAND-IN (common/data/builders/standins.py), not the real data.', name, b.data_dir)
  if random_access and not has_random_access(b):
    raise ConfigurationError(
      f'dataset {name!r} in data_dir={data_dir!r} is prepared as {b.info.file_format.value}, which the streaming '
      f'pipeline cannot read (it needs {ARRAY_RECORD}). Convert it once: `tfds convert_format '
      f'--dataset_version_dir={b.data_dir} --out_file_format={ARRAY_RECORD}`.'
    )
  return b


def check_split(b, split: str, *, parameter: str) -> None:
  """ConfigurationError when `split` (e.g. 'train', 'train[:90%]') names no split of the prepared dataset."""
  base = split.split('[')[0]
  if base not in b.info.splits:
    raise ConfigurationError(
      f'{parameter}={split!r}: dataset {b.name!r} has the splits {sorted(b.info.splits)}; choose one of them.'
    )


def random_access_source(b, split: str) -> Sequence[dict[str, Any]]:
  """The ArrayRecord data source of `split`: len() and [i] -> one decoded example (numpy), no TensorFlow."""
  return b.as_data_source(split=split, file_format=ARRAY_RECORD)


def read_split(b, split: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
  """The whole split as numpy arrays {key: (N, ...)}, in file order (read-only: the arrays may be shared).

  ArrayRecord files are read with tfds.data_source (no TensorFlow); TFRecord files with tf.data. Both give the
  records in the same order (the TFDS writer shuffles by key hash, whatever the format). The latest few splits
  read are kept, so the launcher's validation build and the run that follows decode a dataset once.
  """
  cache_key = (b.data_dir, split, tuple(keys))
  if cache_key in _split_cache:
    _split_cache.move_to_end(cache_key)
    return _split_cache[cache_key]
  arrays = _read_split(b, split, keys)
  for v in arrays.values():
    v.flags.writeable = False
  _split_cache[cache_key] = arrays
  while len(_split_cache) > _SPLIT_CACHE_SIZE:
    _split_cache.popitem(last=False)
  return arrays


def _read_split(b, split: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
  if has_random_access(b):
    source = random_access_source(b, split)
    examples = source.__getitems__(range(len(source)))
    return {k: np.stack([np.asarray(e[k]) for e in examples]) for k in keys}
  tfds = _tfds()
  raw = tfds.as_numpy(b.as_dataset(split=split, batch_size=-1))
  return {k: raw[k] for k in keys}
