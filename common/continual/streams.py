"""Task streams: a sequence of classification tasks built from one dataset (any TFDS image dataset; digits by default).

A stream keeps ONE copy of the base examples, the pool, and describes every task by rows of it, so the jitted train
step picks the current task with a traced index, compiles once for the whole stream, and the device holds about one
dataset however many tasks there are:

  train_pool (P, ...)       the base examples as stored: uint8 images stay uint8 (CIFAR-100's 50000 training images
                            are 150 MB instead of 614 MB as float32; permuted MNIST's 10 tasks share one 47 MB pool
                            instead of 1.9 GB of float32 copies) and are decoded inside the step,
                            inputs = (pool * input_scale - input_mean) / input_std in float32 (per channel or scalar)
  train_index (T, N)        pool row of example n of task t (tasks may differ in size: padded to N, counts say how many)
  train_targets (T, N)      train_counts (T,)
  eval_pool, eval_index, eval_targets, eval_counts    the same for the eval split
  permutations (T, D)       task t's fixed permutation of the D flattened input features (permuted streams; None
                            otherwise), applied after decoding: feature j of task t is decoded feature perm[t, j]
  class_masks (T, C) bool   the output units a task may use (all True except in task-incremental split streams)

Float pools (teacher-student inputs, rotated images, few-shot picks) are stored as float32 and used as they are.
Evaluation batches are decoded on the host, one batch at a time (TaskStream.iter_eval_batches), so eval sets never
sit on the device either. `train_inputs` / `eval_inputs` materialise every task as (T, N, ...) float32 on the host,
for small streams and tests.

Scenarios (van de Ven & Tolias' three scenarios):
  permuted_stream   domain-incremental: task t applies a fixed pixel permutation (task 0 is unpermuted unless
                    permute_first).
  rotated_stream    domain-incremental: task t rotates every image by a fixed angle (T rotated float copies: for
                    small datasets).
  split_stream      the classes split into groups; scenario='task' masks the logits to the task's classes
                    (equivalent to one head per task on a shared output layer, and the task id is given at test
                    time), scenario='class' keeps one head over all classes (no task id at test time).

`data` is a pipeline.TFDSDataset (e.g. pipeline.load_tfds('cifar100', scale=1/255)), whose stored uint8 arrays
and feature spec (the number of classes) the streams use, or any pipeline.ArrayDataset of float inputs.
Every stream is a pure function of (data, its arguments, seed): same seed, same permutations, angles and orders.
"""

import dataclasses
from typing import Iterator, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from common.data import pipeline
from common.train.errors import ConfigurationError

Floats = float | Sequence[float]


@dataclasses.dataclass(frozen=True)
class TaskStream:
  """T classification tasks over one pool of examples (see the module docstring for the arrays)."""

  name: str
  train_pool: np.ndarray
  train_index: np.ndarray
  train_targets: np.ndarray
  train_counts: np.ndarray
  eval_pool: np.ndarray
  eval_index: np.ndarray
  eval_targets: np.ndarray
  eval_counts: np.ndarray
  class_masks: np.ndarray
  num_classes: int
  scenario: str  # 'domain', 'task' or 'class'
  has_boundaries: bool = True
  permutations: np.ndarray | None = None
  input_scale: float = 1.0
  input_mean: Floats = 0.0
  input_std: Floats = 1.0

  @property
  def num_tasks(self) -> int:
    return int(self.train_index.shape[0])

  @property
  def quantized(self) -> bool:
    """Whether the pools hold integers (images as stored) that the step decodes to float32."""
    return np.issubdtype(self.train_pool.dtype, np.integer)

  def decoding(self) -> dict[str, np.ndarray]:
    """{'scale', 'mean', 'std'} (float32) that `decode` applies to integer pools; {} for float pools."""
    if not self.quantized:
      return {}
    return {
      'scale': np.float32(self.input_scale),
      'mean': np.asarray(self.input_mean, np.float32),
      'std': np.asarray(self.input_std, np.float32),
    }

  def train_arrays(self) -> dict[str, np.ndarray]:
    """Everything the jitted step needs to draw a batch of any task (kept on the device; see `gather`)."""
    arrays = {
      'pool': self.train_pool,
      'index': self.train_index,
      'targets': self.train_targets,
      'counts': self.train_counts,
      'masks': self.class_masks,
      **self.decoding(),
    }
    if self.permutations is not None:
      arrays['permutations'] = self.permutations
    return arrays

  def _inputs(self, split: str, task: int, positions: np.ndarray) -> np.ndarray:
    """Decoded float32 inputs of task `task`'s examples at `positions` (host-side `gather`)."""
    pool, index = (self.train_pool, self.train_index) if split == 'train' else (self.eval_pool, self.eval_index)
    x = decode_host(pool[index[task, positions]], self.decoding())
    if self.permutations is not None:
      flat = x.reshape(len(x), -1)[:, self.permutations[task]]
      x = flat.reshape(x.shape)
    return x

  def task_data(self, task: int, split: str = 'train') -> dict[str, np.ndarray]:
    """The unpadded examples of one task, decoded on the host: {'inputs': (n, ...) float32, 'targets': (n,)}."""
    counts, targets = (self.train_counts, self.train_targets) if split == 'train' else (self.eval_counts,
                                                                                        self.eval_targets)  # fmt: skip
    n = int(counts[task])
    return {'inputs': self._inputs(split, task, np.arange(n)), 'targets': targets[task, :n]}

  def _materialise(self, split: str) -> np.ndarray:
    counts = self.train_counts if split == 'train' else self.eval_counts
    index = self.train_index if split == 'train' else self.eval_index
    out = np.stack([self._inputs(split, t, np.arange(index.shape[1])) for t in range(self.num_tasks)])
    for t, n in enumerate(counts):
      out[t, n:] = 0  # padding rows read as zeros
    return out

  @property
  def train_inputs(self) -> np.ndarray:
    """(T, N, ...) float32: every task's decoded training inputs (host memory: for small streams and tests)."""
    return self._materialise('train')

  @property
  def eval_inputs(self) -> np.ndarray:
    """(T, M, ...) float32: every task's decoded eval inputs (host memory: for small streams and tests)."""
    return self._materialise('eval')

  def example_inputs(self, n: int = 2) -> np.ndarray:
    """(n, ...) float32 decoded inputs of task 0 (model initialisation)."""
    return self._inputs('train', 0, np.arange(n) % max(int(self.train_counts[0]), 1))

  def iter_eval_batches(self, task: int, batch_size: int = 512) -> Iterator[dict[str, np.ndarray]]:
    """Fixed-size eval batches of one task, decoded on the host one at a time: {'inputs', 'targets', 'weight'
    (0 = padding), 'mask' (the task's classes, per example)}; the last batch is padded."""
    n = int(self.eval_counts[task])
    size = min(batch_size, max(n, 1))
    mask = np.broadcast_to(self.class_masks[task], (size, self.num_classes))
    for start in range(0, n, size):
      stop = min(start + size, n)
      positions = np.concatenate([np.arange(start, stop), np.zeros(size - (stop - start), np.int64)])
      valid = np.arange(size) < stop - start
      inputs = self._inputs('eval', task, positions)
      inputs[~valid] = 0
      yield {
        'inputs': inputs,
        'targets': np.where(valid, self.eval_targets[task, positions], 0).astype(np.int32),
        'weight': valid.astype(np.float32),
        'mask': mask.copy(),
      }

  def eval_batches(self, task: int, batch_size: int = 512) -> list[dict[str, np.ndarray]]:
    """All of iter_eval_batches(task, batch_size) as a list."""
    return list(self.iter_eval_batches(task, batch_size))

  def device_bytes(self) -> int:
    """Bytes of train_arrays(): what a stream keeps on each device."""
    return int(sum(np.asarray(v).nbytes for v in self.train_arrays().values()))


def decode_host(x: np.ndarray, decoding: dict[str, np.ndarray]) -> np.ndarray:
  """numpy twin of `decode`: pool rows -> float32 inputs."""
  if not decoding:
    return np.asarray(x, np.float32)
  return (x.astype(np.float32) * decoding['scale'] - decoding['mean']) / decoding['std']


def decode(arrays, x: jax.Array) -> jax.Array:
  """Pool rows (B, ...) -> float32 inputs: (x * scale - mean) / std for integer pools; float pools unchanged."""
  if 'scale' not in arrays:
    return x
  return (x.astype(jnp.float32) * arrays['scale'] - arrays['mean']) / arrays['std']


def permute(x: jax.Array, permutations: jax.Array) -> jax.Array:
  """x (B, ...) with its flattened features permuted per example: out[b, j] = x[b, perm[b, j]]; perm (B, D)."""
  flat = x.reshape(x.shape[0], -1)
  return jnp.take_along_axis(flat, permutations, axis=1).reshape(x.shape)


def gather(arrays, tasks: jax.Array, idx: jax.Array) -> dict:
  """Examples (tasks[b], idx[b]) as a batch with each example's task mask and unit weight. Traceable."""
  x = decode(arrays, arrays['pool'][arrays['index'][tasks, idx]])
  if 'permutations' in arrays:
    x = permute(x, arrays['permutations'][tasks])
  return {
    'inputs': x,
    'targets': arrays['targets'][tasks, idx],
    'mask': arrays['masks'][tasks],
    'weight': jnp.ones(tasks.shape, jnp.float32),
  }


def task_capacity(arrays) -> int:
  """N: the padded number of examples per task in train_arrays() (static)."""
  return int(arrays['targets'].shape[1])


def sample_task_batch(arrays, key: jax.Array, step: jax.Array, task: jax.Array, batch_size: int) -> dict:
  """A batch of `task` for global `step`: shuffled without replacement within an epoch of that task.

  Traceable: `task` and `step` may be traced. Tasks of different sizes are padded to the same N; the padded rows
  sort last in the epoch order, so they are never drawn. Returns {'inputs', 'targets', 'mask', 'weight'}.
  """
  count = arrays['counts'][task]
  n_max = task_capacity(arrays)
  steps_per_epoch = jnp.maximum(count // batch_size, 1)
  epoch, within = jnp.divmod(step, steps_per_epoch)
  epoch_key = jax.random.fold_in(jax.random.fold_in(key, task), epoch)
  scores = jax.random.uniform(epoch_key, (n_max,))
  scores = jnp.where(jnp.arange(n_max) < count, scores, 2.0)
  order = jnp.argsort(scores)
  idx = jax.lax.dynamic_slice_in_dim(order, within * batch_size, batch_size)
  return gather(arrays, jnp.full((batch_size,), task), idx)


def _check_num_tasks(fn: str, num_tasks: int, limit: int | None = None) -> None:
  if num_tasks < 1:
    raise ConfigurationError(f'{fn}.num_tasks={num_tasks}: a stream needs at least one task; set num_tasks >= 1.')
  if limit is not None and num_tasks > limit:
    raise ConfigurationError(f'{fn}.num_tasks={num_tasks} exceeds the {limit} tasks this dataset can make.')


@dataclasses.dataclass(frozen=True)
class _Base:
  """The base dataset as a stream stores it: inputs as stored (integer) or float32, targets int32."""

  train_x: np.ndarray
  train_y: np.ndarray
  eval_x: np.ndarray
  eval_y: np.ndarray
  scale: float
  num_classes: int


def _base(data, fn: str) -> _Base:
  """Reads `data` once: a TFDSDataset keeps its stored integer images (scaled by data.scale in the step)."""
  if hasattr(data, 'raw_split'):
    train, evals = data.raw_split('train'), data.raw_split('eval')
    scale = float(data.scale)
    if not np.issubdtype(train['inputs'].dtype, np.integer):  # stored as floats: scale now, keep float32
      scale_now = lambda x: x.astype(np.float32) * np.float32(scale)  # noqa: E731
      train = {**train, 'inputs': scale_now(train['inputs'])}
      evals = {**evals, 'inputs': scale_now(evals['inputs'])}
      scale = 1.0
    declared = data.num_classes
  else:
    train = {'inputs': np.asarray(data.train['inputs'], np.float32), 'targets': data.train['targets']}
    evals = {'inputs': np.asarray(data.eval['inputs'], np.float32), 'targets': data.eval['targets']}
    scale, declared = 1.0, None
  seen = int(max(train['targets'].max(), evals['targets'].max())) + 1
  if declared is not None and seen > declared:
    raise ConfigurationError(f'{fn}.data: labels reach {seen - 1} but the feature spec declares {declared} classes.')
  return _Base(
    train['inputs'],
    np.asarray(train['targets'], np.int32),
    evals['inputs'],
    np.asarray(evals['targets'], np.int32),
    scale,
    declared or seen,
  )


def _pad_rows(rows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
  """Per-task pool rows -> (index (T, N) int32 padded with row 0, counts (T,) int32)."""
  n_max = max(max(len(r) for r in rows), 1)
  index = np.zeros((len(rows), n_max), np.int32)
  for t, r in enumerate(rows):
    index[t, : len(r)] = r
  return index, np.array([len(r) for r in rows], np.int32)


def _indexed(name, base: _Base, train_rows, eval_rows, masks, scenario, boundaries=True, **extra) -> TaskStream:
  """A stream whose tasks are rows of the base dataset's pools."""
  tr_index, tr_n = _pad_rows(train_rows)
  ev_index, ev_n = _pad_rows(eval_rows)
  tr_y = np.where(np.arange(tr_index.shape[1]) < tr_n[:, None], base.train_y[tr_index], 0).astype(np.int32)
  ev_y = np.where(np.arange(ev_index.shape[1]) < ev_n[:, None], base.eval_y[ev_index], 0).astype(np.int32)
  return TaskStream(
    name, base.train_x, tr_index, tr_y, tr_n, base.eval_x, ev_index, ev_y, ev_n, np.asarray(masks, bool),
    base.num_classes, scenario, boundaries, input_scale=base.scale, **extra,
  )  # fmt: skip


def _stack(name, tasks_train, tasks_eval, masks, num_classes, scenario, boundaries=True) -> TaskStream:
  """A stream from explicit per-task splits [{'inputs', 'targets'}, ...]: their inputs become float32 pools."""

  def pool_of(splits):
    pool = np.concatenate([np.asarray(s['inputs'], np.float32) for s in splits])
    offsets = np.cumsum([0] + [len(s['targets']) for s in splits])
    rows = [np.arange(offsets[t], offsets[t + 1]) for t in range(len(splits))]
    index, counts = _pad_rows(rows)
    targets = np.zeros(index.shape, np.int32)
    for t, s in enumerate(splits):
      targets[t, : len(s['targets'])] = s['targets']
    return pool, index, targets, counts

  tr = pool_of(tasks_train)
  ev = pool_of(tasks_eval)
  return TaskStream(name, *tr, *ev, np.asarray(masks, bool), num_classes, scenario, boundaries)


def _num_classes(data) -> int:
  """Classes of `data`: the feature spec's count for TFDS datasets, else the largest label + 1."""
  declared = getattr(data, 'num_classes', None)
  if declared is not None:
    return int(declared)
  return int(max(data.train['targets'].max(), data.eval['targets'].max())) + 1


def _subsample_rows(n: int, max_examples: int | None, rng: np.random.Generator) -> np.ndarray:
  if max_examples is None or max_examples >= n:
    return np.arange(n)
  return np.sort(rng.permutation(n)[:max_examples])


def permuted_stream(
  data: pipeline.ArrayDataset | pipeline.TFDSDataset,
  *,
  num_tasks: int = 10,
  seed: int = 0,
  permute_first: bool = False,
  max_train_per_task: int | None = None,
  boundaries: bool = True,
  input_mean: Floats = 0.0,
  input_std: Floats = 1.0,
) -> TaskStream:
  """Permuted-pixel tasks: task t is the dataset with a fixed permutation of the flattened input features.

  The device keeps one pool and T permutations (T x D int32); the step permutes each batch.

  Args:
    data: the base dataset, e.g. pipeline.load_tfds('sklearn_digits', scale=1/16) or load_tfds('mnist', scale=1/255).
    num_tasks: T >= 1.
    seed: seeds the permutations (and the subsample when max_train_per_task is set).
    permute_first: permute task 0 too (the usual protocol keeps task 0 as the original images; the HLOP code
      permutes every task).
    max_train_per_task: use a random subset of this many training examples per task (None: all).
    boundaries: False makes the stream task-free: learners are not told where one task ends (learners that
      consolidate at task boundaries then refuse the stream at configuration time).
    input_mean, input_std: inputs are (image * data.scale - mean) / std, per channel or scalar, computed before
      the permutation (e.g. MNIST's 0.1307 and 0.3081). Integer (image) data only.
  """
  _check_num_tasks('permuted_stream', num_tasks)
  base = _base(data, 'permuted_stream')
  rng = np.random.default_rng([seed, 1])
  dim = int(np.prod(base.train_x.shape[1:]))
  perms, train_rows = [], []
  for t in range(num_tasks):  # the draw order of the first version of this stream: its streams are unchanged
    perms.append(rng.permutation(dim) if (t > 0 or permute_first) else np.arange(dim))
    train_rows.append(_subsample_rows(len(base.train_y), max_train_per_task, rng))
  eval_rows = [np.arange(len(base.eval_y))] * num_tasks
  return _indexed(
    'permuted', base, train_rows, eval_rows, np.ones((num_tasks, base.num_classes), bool), 'domain', boundaries,
    permutations=np.stack(perms).astype(np.int32), **_normalisation('permuted_stream', base, input_mean, input_std),
  )  # fmt: skip


def _normalisation(fn: str, base: _Base, mean: Floats, std: Floats) -> dict:
  trivial = np.all(np.asarray(mean) == 0) and np.all(np.asarray(std) == 1)
  if not trivial and not np.issubdtype(base.train_x.dtype, np.integer):
    raise ConfigurationError(
      f'{fn}.input_mean/input_std normalise stored integer images; this dataset holds float inputs. Leave them '
      'at 0 and 1 (or normalise the dataset itself).'
    )
  for name, value in (('input_mean', mean), ('input_std', std)):
    size = np.asarray(value).size
    if size not in (1, base.train_x.shape[-1]):
      raise ConfigurationError(
        f'{fn}.{name}={value}: give one value or one per channel ({base.train_x.shape[-1]} channels).'
      )
  if np.any(np.asarray(std) <= 0):
    raise ConfigurationError(f'{fn}.input_std={std} must be positive.')
  return {'input_mean': mean, 'input_std': std}


def rotated_stream(
  data: pipeline.ArrayDataset | pipeline.TFDSDataset,
  *,
  num_tasks: int = 5,
  angles: Sequence[float] | None = None,
  max_angle: float = 180.0,
  seed: int = 0,
  max_train_per_task: int | None = None,
  boundaries: bool = True,
) -> TaskStream:
  """Rotated-image tasks: task t rotates every (H, W, C) image by angles[t] degrees (bilinear, zero fill).

  The rotated images are stored, as float32, once per task (a rotation is not a cheap gather): for small datasets.

  Args:
    angles: the angle of each task; default evenly spaced in [0, max_angle) in a seeded random order after task 0.
  """
  _check_num_tasks('rotated_stream', num_tasks)
  from scipy import ndimage

  base = _base(data, 'rotated_stream')
  if base.train_x.ndim != 4:
    raise ConfigurationError(f'rotated_stream needs (N, H, W, C) images; got shape {base.train_x.shape}.')
  rng = np.random.default_rng([seed, 2])
  if angles is None:
    grid = np.linspace(0.0, max_angle, num_tasks, endpoint=False)
    angles = np.concatenate([grid[:1], rng.permutation(grid[1:])])
  elif len(angles) != num_tasks:
    raise ConfigurationError(f'rotated_stream.angles has {len(angles)} entries but num_tasks={num_tasks}.')
  as_float = lambda x: decode_host(x, {'scale': np.float32(base.scale), 'mean': 0.0, 'std': 1.0})  # noqa: E731
  train_x, eval_x = as_float(base.train_x), as_float(base.eval_x)
  rotate = lambda x, a: ndimage.rotate(x, a, axes=(1, 2), reshape=False, order=1, mode='constant')  # noqa: E731
  trains, evals = [], []
  for a in angles:
    rows = _subsample_rows(len(base.train_y), max_train_per_task, rng)
    trains.append({'inputs': rotate(train_x[rows], a), 'targets': base.train_y[rows]})
    evals.append({'inputs': rotate(eval_x, a), 'targets': base.eval_y})
  masks = np.ones((num_tasks, base.num_classes), bool)
  return _stack('rotated', trains, evals, masks, base.num_classes, 'domain', boundaries)


def split_stream(
  data: pipeline.ArrayDataset | pipeline.TFDSDataset,
  *,
  num_tasks: int = 5,
  scenario: str = 'task',
  shuffle_classes: bool = False,
  seed: int = 0,
  input_mean: Floats = 0.0,
  input_std: Floats = 1.0,
) -> TaskStream:
  """Split-class tasks: the C classes are cut into num_tasks equal groups (digits: 5 tasks of 2 classes; 10-split
  CIFAR-100: 10 tasks of 10 classes). C comes from the dataset's feature spec (its ClassLabel) when it has one.

  Args:
    scenario: 'task' (task-incremental: logits masked to the task's classes, i.e. one head per task) or
      'class' (class-incremental: one head, no task id at test time).
    shuffle_classes: assign classes to tasks in a seeded random order (default 0,1 | 2,3 | ...).
    input_mean, input_std: inputs are (image * data.scale - mean) / std, per channel or scalar (integer images).
  """
  base = _base(data, 'split_stream')
  c = base.num_classes
  _check_num_tasks('split_stream', num_tasks, limit=c)
  if scenario not in ('task', 'class'):
    raise ConfigurationError(f"split_stream.scenario={scenario!r} must be 'task' or 'class'.")
  if c % num_tasks:
    raise ConfigurationError(f'split_stream.num_tasks={num_tasks} must divide the {c} classes evenly.')
  order = np.random.default_rng([seed, 3]).permutation(c) if shuffle_classes else np.arange(c)
  groups = order.reshape(num_tasks, c // num_tasks)
  train_rows = [np.flatnonzero(np.isin(base.train_y, g)) for g in groups]
  eval_rows = [np.flatnonzero(np.isin(base.eval_y, g)) for g in groups]
  for split, rows_of in (('training', train_rows), ('eval', eval_rows)):
    empty = [t for t, rows in enumerate(rows_of) if len(rows) == 0]
    if empty:
      raise ConfigurationError(
        f'split_stream: tasks {empty} have no {split} examples (classes {groups[empty[0]].tolist()}, ...); check '
        'the dataset or lower num_tasks.'
      )
  masks = [np.isin(np.arange(c), g) if scenario == 'task' else np.ones(c, bool) for g in groups]
  return _indexed(
    f'split_{scenario}', base, train_rows, eval_rows, np.stack(masks), scenario,
    **_normalisation('split_stream', base, input_mean, input_std),
  )  # fmt: skip


def teacher_student_stream(
  *,
  num_inputs: int = 500,
  alpha: float = 2.0,
  overlap: float = 0.5,
  num_tasks: int = 2,
  num_eval: int = 2000,
  seed: int = 0,
) -> TaskStream:
  """Binary-perceptron teacher-student tasks (the statistical-mechanics seed's setting).

  Task t has a teacher w_t in {-1, +1}^N; w_0 is uniform and w_{t+1} flips each sign of w_t with probability
  (1 - overlap) / 2, so E[w_t . w_{t+1}] / N = overlap. Inputs x ~ N(0, I_N); labels 1[w_t . x > 0]. Each task has
  P = alpha * N training examples and `num_eval` test examples (test accuracy = 1 - generalisation error).
  """
  _check_num_tasks('teacher_student_stream', num_tasks)
  if num_inputs < 1 or not alpha > 0 or num_eval < 1:
    raise ConfigurationError(
      f'teacher_student_stream: num_inputs={num_inputs}, alpha={alpha} and num_eval={num_eval} must be positive.'
    )
  if not -1.0 <= overlap <= 1.0:
    raise ConfigurationError(f'teacher_student_stream.overlap={overlap} must lie in [-1, 1].')
  rng = np.random.default_rng([seed, 4])
  num_train = max(int(round(alpha * num_inputs)), 1)
  teacher = rng.choice([-1.0, 1.0], num_inputs)
  trains, evals = [], []
  for t in range(num_tasks):
    if t > 0:
      flip = rng.random(num_inputs) < (1.0 - overlap) / 2
      teacher = np.where(flip, -teacher, teacher)
    for n, out in ((num_train, trains), (num_eval, evals)):
      x = rng.normal(size=(n, num_inputs)).astype(np.float32)
      out.append({'inputs': x, 'targets': (x @ teacher > 0).astype(np.int32)})
  return _stack('teacher_student', trains, evals, np.ones((num_tasks, 2), bool), 2, 'domain')
