"""Task streams: a sequence of classification tasks built from one TFDS dataset (digits by default).

A stream holds every task's data stacked along a leading task axis, so the jitted train step picks the current
task with a traced index and compiles once for the whole stream:

  train_inputs (T, N, ...)   train_targets (T, N)   train_counts (T,)   (tasks may differ in size: padded to N)
  eval_inputs  (T, M, ...)   eval_targets  (T, M)   eval_counts  (T,)
  class_masks  (T, C) bool   the output units a task may use (all True except in task-incremental split streams)

Scenarios (van de Ven & Tolias' three scenarios):
  permuted_stream   domain-incremental: task t applies a fixed pixel permutation (task 0 is unpermuted).
  rotated_stream    domain-incremental: task t rotates every image by a fixed angle.
  split_stream      the classes split into groups; scenario='task' masks the logits to the task's classes
                    (equivalent to one head per task on a shared output layer, and the task id is given at test
                    time), scenario='class' keeps one head over all classes (no task id at test time).

Every stream is a pure function of (data, its arguments, seed): same seed, same permutations, angles and orders.
"""

import dataclasses
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from common.data import pipeline
from common.train.errors import ConfigurationError


@dataclasses.dataclass(frozen=True)
class TaskStream:
  """T classification tasks stacked on a leading axis (see the module docstring for the arrays)."""

  name: str
  train_inputs: np.ndarray
  train_targets: np.ndarray
  train_counts: np.ndarray
  eval_inputs: np.ndarray
  eval_targets: np.ndarray
  eval_counts: np.ndarray
  class_masks: np.ndarray
  num_classes: int
  scenario: str  # 'domain', 'task' or 'class'
  has_boundaries: bool = True

  @property
  def num_tasks(self) -> int:
    return int(self.train_inputs.shape[0])

  def train_arrays(self) -> dict[str, np.ndarray]:
    """Everything the jitted step needs to draw a batch of any task (kept on device)."""
    return {
      'inputs': self.train_inputs,
      'targets': self.train_targets,
      'counts': self.train_counts,
      'masks': self.class_masks,
    }

  def task_data(self, task: int, split: str = 'train') -> dict[str, np.ndarray]:
    """The unpadded examples of one task: {'inputs': (n, ...), 'targets': (n,), 'mask': (C,)}."""
    if split == 'train':
      n = int(self.train_counts[task])
      return {'inputs': self.train_inputs[task, :n], 'targets': self.train_targets[task, :n]}
    n = int(self.eval_counts[task])
    return {'inputs': self.eval_inputs[task, :n], 'targets': self.eval_targets[task, :n]}

  def eval_batches(self, task: int, batch_size: int = 512) -> list[dict[str, np.ndarray]]:
    """Fixed-size eval batches of one task with 'weight' (0 = padding) and the task's class 'mask' per example."""
    batches = list(pipeline.eval_batches(self.task_data(task, 'eval'), batch_size))
    for b in batches:
      b['mask'] = np.broadcast_to(self.class_masks[task], (len(b['targets']), self.num_classes)).copy()
    return batches


def sample_task_batch(arrays, key: jax.Array, step: jax.Array, task: jax.Array, batch_size: int) -> dict:
  """A batch of `task` for global `step`: shuffled without replacement within an epoch of that task.

  Traceable: `task` and `step` may be traced. Tasks of different sizes are padded to the same N; the padded rows
  sort last in the epoch order, so they are never drawn. Returns {'inputs', 'targets', 'mask', 'weight'}.
  """
  count = arrays['counts'][task]
  n_max = arrays['inputs'].shape[1]
  steps_per_epoch = jnp.maximum(count // batch_size, 1)
  epoch, within = jnp.divmod(step, steps_per_epoch)
  epoch_key = jax.random.fold_in(jax.random.fold_in(key, task), epoch)
  scores = jax.random.uniform(epoch_key, (n_max,))
  scores = jnp.where(jnp.arange(n_max) < count, scores, 2.0)
  order = jnp.argsort(scores)
  idx = jax.lax.dynamic_slice_in_dim(order, within * batch_size, batch_size)
  return gather(arrays, jnp.full((batch_size,), task), idx)


def gather(arrays, tasks: jax.Array, idx: jax.Array) -> dict:
  """Examples (tasks[b], idx[b]) as a batch with each example's task mask and unit weight."""
  return {
    'inputs': arrays['inputs'][tasks, idx],
    'targets': arrays['targets'][tasks, idx],
    'mask': arrays['masks'][tasks],
    'weight': jnp.ones(tasks.shape, jnp.float32),
  }


def _check_num_tasks(fn: str, num_tasks: int, limit: int | None = None) -> None:
  if num_tasks < 1:
    raise ConfigurationError(f'{fn}.num_tasks={num_tasks}: a stream needs at least one task; set num_tasks >= 1.')
  if limit is not None and num_tasks > limit:
    raise ConfigurationError(f'{fn}.num_tasks={num_tasks} exceeds the {limit} tasks this dataset can make.')


def _subsample(split, max_examples: int | None, rng: np.random.Generator):
  n = len(split['targets'])
  if max_examples is None or max_examples >= n:
    return dict(split)
  idx = np.sort(rng.permutation(n)[:max_examples])
  return {k: v[idx] for k, v in split.items()}


def _stack(name, tasks_train, tasks_eval, masks, num_classes, scenario, boundaries=True) -> TaskStream:
  def pad_stack(splits):
    n_max = max(len(s['targets']) for s in splits)
    pad = lambda v: np.concatenate([v, np.zeros((n_max - len(v),) + v.shape[1:], v.dtype)])  # noqa: E731
    return (
      np.stack([pad(s['inputs']) for s in splits]).astype(np.float32),
      np.stack([pad(s['targets']) for s in splits]).astype(np.int32),
      np.array([len(s['targets']) for s in splits], np.int32),
    )

  tr_x, tr_y, tr_n = pad_stack(tasks_train)
  ev_x, ev_y, ev_n = pad_stack(tasks_eval)
  masks = np.asarray(masks, bool)
  return TaskStream(name, tr_x, tr_y, tr_n, ev_x, ev_y, ev_n, masks, num_classes, scenario, boundaries)


def _num_classes(data: pipeline.ArrayDataset) -> int:
  return int(max(data.train['targets'].max(), data.eval['targets'].max())) + 1


def permuted_stream(
  data: pipeline.ArrayDataset,
  *,
  num_tasks: int = 10,
  seed: int = 0,
  permute_first: bool = False,
  max_train_per_task: int | None = None,
  boundaries: bool = True,
) -> TaskStream:
  """Permuted-pixel tasks: task t is the dataset with a fixed permutation of the flattened input features.

  Args:
    data: the base dataset, e.g. pipeline.load_tfds('sklearn_digits', scale=1/16).
    num_tasks: T >= 1.
    seed: seeds the permutations (and the subsample when max_train_per_task is set).
    permute_first: permute task 0 too (the usual protocol keeps task 0 as the original images).
    max_train_per_task: use a random subset of this many training examples per task (None: all).
    boundaries: False makes the stream task-free: learners are not told where one task ends (learners that
      consolidate at task boundaries then refuse the stream at configuration time).
  """
  _check_num_tasks('permuted_stream', num_tasks)
  rng = np.random.default_rng([seed, 1])
  shape = data.train['inputs'].shape[1:]
  dim = int(np.prod(shape))
  trains, evals = [], []
  for t in range(num_tasks):
    perm = rng.permutation(dim) if (t > 0 or permute_first) else np.arange(dim)
    permute = lambda x, perm=perm: x.reshape(len(x), dim)[:, perm].reshape((len(x),) + shape)  # noqa: E731
    train = _subsample(data.train, max_train_per_task, rng)
    trains.append({'inputs': permute(train['inputs']), 'targets': train['targets']})
    evals.append({'inputs': permute(data.eval['inputs']), 'targets': data.eval['targets']})
  c = _num_classes(data)
  return _stack('permuted', trains, evals, np.ones((num_tasks, c), bool), c, 'domain', boundaries)


def rotated_stream(
  data: pipeline.ArrayDataset,
  *,
  num_tasks: int = 5,
  angles: Sequence[float] | None = None,
  max_angle: float = 180.0,
  seed: int = 0,
  max_train_per_task: int | None = None,
  boundaries: bool = True,
) -> TaskStream:
  """Rotated-image tasks: task t rotates every (H, W, C) image by angles[t] degrees (bilinear, zero fill).

  Args:
    angles: the angle of each task; default evenly spaced in [0, max_angle) in a seeded random order after task 0.
  """
  _check_num_tasks('rotated_stream', num_tasks)
  from scipy import ndimage

  if data.train['inputs'].ndim != 4:
    raise ConfigurationError(f'rotated_stream needs (N, H, W, C) images; got shape {data.train["inputs"].shape}.')
  rng = np.random.default_rng([seed, 2])
  if angles is None:
    grid = np.linspace(0.0, max_angle, num_tasks, endpoint=False)
    angles = np.concatenate([grid[:1], rng.permutation(grid[1:])])
  elif len(angles) != num_tasks:
    raise ConfigurationError(f'rotated_stream.angles has {len(angles)} entries but num_tasks={num_tasks}.')
  rotate = lambda x, a: ndimage.rotate(x, a, axes=(1, 2), reshape=False, order=1, mode='constant')  # noqa: E731
  trains, evals = [], []
  for a in angles:
    train = _subsample(data.train, max_train_per_task, rng)
    trains.append({'inputs': rotate(train['inputs'], a), 'targets': train['targets']})
    evals.append({'inputs': rotate(data.eval['inputs'], a), 'targets': data.eval['targets']})
  c = _num_classes(data)
  return _stack('rotated', trains, evals, np.ones((num_tasks, c), bool), c, 'domain', boundaries)


def split_stream(
  data: pipeline.ArrayDataset,
  *,
  num_tasks: int = 5,
  scenario: str = 'task',
  shuffle_classes: bool = False,
  seed: int = 0,
) -> TaskStream:
  """Split-class tasks: the C classes are cut into num_tasks equal groups (digits: 5 tasks of 2 classes).

  Args:
    scenario: 'task' (task-incremental: logits masked to the task's classes, i.e. one head per task) or
      'class' (class-incremental: one head, no task id at test time).
    shuffle_classes: assign classes to tasks in a seeded random order (default 0,1 | 2,3 | ...).
  """
  c = _num_classes(data)
  _check_num_tasks('split_stream', num_tasks, limit=c)
  if scenario not in ('task', 'class'):
    raise ConfigurationError(f"split_stream.scenario={scenario!r} must be 'task' or 'class'.")
  if c % num_tasks:
    raise ConfigurationError(f'split_stream.num_tasks={num_tasks} must divide the {c} classes evenly.')
  order = np.random.default_rng([seed, 3]).permutation(c) if shuffle_classes else np.arange(c)
  groups = order.reshape(num_tasks, c // num_tasks)
  trains, evals, masks = [], [], []
  for g in groups:
    pick = lambda split, g=g: {k: v[np.isin(split['targets'], g)] for k, v in split.items()}  # noqa: E731
    trains.append(pick(data.train))
    evals.append(pick(data.eval))
    masks.append(np.isin(np.arange(c), g) if scenario == 'task' else np.ones(c, bool))
  return _stack(f'split_{scenario}', trains, evals, np.stack(masks), c, scenario)


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
