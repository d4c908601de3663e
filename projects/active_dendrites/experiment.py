"""Permuted images with task-prototype contexts (Iyer et al. 2022): scikit-learn's 8x8 digits by default, MNIST where
it is prepared (configs/active_dendrites/mnist_*.gin).

Task t applies a fixed random pixel permutation to every image (task 0 is unpermuted); the tasks come from the
shared continual-learning stream `common.continual.streams.permuted_stream` (seeded by the run's seed) and are
trained one after another with one shared output head. The context of task t is its prototype: the mean permuted
training image. At test time the context is inferred per example as the nearest prototype (Euclidean), as in Numenta's
`prototype` experiments, so no task id is given. After the last task, accuracy is measured on every task's test
set; the run also reports the accuracy with the true prototype ("oracle context") and how often the prototype
inference picks the right task.

Entry point `run` follows the repo contract (gin kwargs + workdir + dry_run) as a short loop on the run engine
(common/train/engine.py); the model is any module taking {'x': (B, P), 'context': (B, P)} with P the number of
input features (64 for digits, 784 for MNIST; DendriticMLP covers all four compared variants). Steps of one task run
as one jitted lax.scan; the state is checkpointed every few tasks and a restarted run resumes after the last saved
task. The device holds the stream's pools once (stored images, decoded and permuted inside the step, see
common/continual/streams.py); the permutations and prototypes derive from the seed, so a vmapped multi-seed run
stacks only those (T x P each) along the member axis.
"""

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from common.continual import streams
from common.data import pipeline
from common.train import engine
from common.train import state as state_lib
from common.train.errors import ConfigurationError
from common.train.loop import make_train_step


def prototypes(task_inputs: np.ndarray, center: bool = False) -> np.ndarray:
  """(T, P) mean training image of every task, from task_inputs (T, N, P).

  center=True subtracts each prototype's mean pixel value (the same scalar for every task, since the tasks are
  permutations of one another): it removes the component all contexts share, so segments can tell tasks apart.
  """
  protos = task_inputs.mean(1)
  return protos - protos.mean(-1, keepdims=True) if center else protos


def stream_prototypes(stream, center: bool = False) -> np.ndarray:
  """(T, P) prototypes of a permuted stream whose tasks all hold the whole training set: the mean decoded training
  image permuted by each task's permutation (the same numbers as `prototypes` of the materialised tasks)."""
  mean = streams.decode_host(stream.train_pool, stream.decoding()).reshape(len(stream.train_pool), -1).mean(0)
  protos = mean[stream.permutations]
  return protos - protos.mean(-1, keepdims=True) if center else protos


def _flat_inputs(arrays, rows, permutation):
  """Decoded, flattened pool rows (B, P) with the task's feature permutation (P,) applied."""
  x = streams.decode(arrays, arrays['pool'][rows])
  return x.reshape(x.shape[0], -1)[:, permutation]


class PermutedContextTask:
  """The loop's task interface for one task at a time: arrays carry the pool, the current task's permutation and
  its context."""

  def __init__(self, batch_size: int, num_classes: int = 10):
    self.batch_size = batch_size
    self.num_classes = num_classes

  def train_batch(self, arrays, key, step):
    idx = jax.random.randint(jax.random.fold_in(key, step), (self.batch_size,), 0, arrays['targets'].shape[0])
    x = _flat_inputs(arrays, idx, arrays['permutation'])
    ctx = jnp.broadcast_to(arrays['context'], x.shape[:1] + arrays['context'].shape)
    return {'inputs': {'x': x, 'context': ctx}, 'targets': arrays['targets'][idx]}

  def loss(self, logits, batch):
    labels = batch['targets']
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
    acc = (jnp.argmax(logits, -1) == labels).astype(jnp.float32).mean()
    return ce, {'loss': ce, 'accuracy': acc}


def _eval_all(model, variables, test, perms, protos):
  """Per-task accuracy with inferred and oracle contexts, and task-inference accuracy.

  Shapes: test = the eval pool (M, ...) with targets (M,) and its decoding; perms (T, P) every task's feature
  permutation; protos (T, P).
  """
  y = test['targets']

  def one_task(perm, proto, t):
    x = _flat_inputs(test, jnp.arange(y.shape[0]), perm)  # task t's (permuted) test images (M, P)
    dist = jnp.sum((x[:, None, :] - protos[None]) ** 2, -1)  # (M, T)
    guess = jnp.argmin(dist, -1)
    inferred = model.apply(variables, {'x': x, 'context': protos[guess]}, train=False)
    oracle = model.apply(variables, {'x': x, 'context': jnp.broadcast_to(proto, x.shape)}, train=False)
    acc = lambda logits: jnp.mean(jnp.argmax(logits, -1) == y)  # noqa: E731
    return acc(inferred), acc(oracle), jnp.mean(guess == t)

  return jax.lax.map(lambda args: one_task(*args), (perms, protos, jnp.arange(protos.shape[0])))


def run(
  *,
  model,
  num_tasks: int,
  steps_per_task: int,
  batch_size: int,
  optimizer: Callable[[int], optax.GradientTransformation],
  seed: int,
  workdir: str,
  dry_run: bool = False,
  data: pipeline.ArrayDataset | None = None,
  checkpoint_every_tasks: int = 10,
  center_context: bool = False,
) -> dict[str, Any]:
  """Trains `model` on `num_tasks` permuted-image tasks in sequence; returns the accuracy after all tasks.

  Args:
    model: a Flax module called with {'x': (B, P), 'context': (B, P)}, P = input features of `data`.
    num_tasks: number of tasks (>= 1); steps_per_task: optimizer steps per task; batch_size: examples per step.
    optimizer: a factory num_steps -> optax transformation (e.g. optim.create_optimizer).
    seed: the run's seed (parameters, batches and permutations derive from it).
    data: the dataset (default: sklearn_digits scaled to [0, 1]); e.g. pipeline.load_tfds('mnist', scale=1/255).
    checkpoint_every_tasks: save the state after every this many tasks (and after the last).
    center_context: subtract the shared mean pixel value from every prototype (see `prototypes`).
  """
  if num_tasks < 1:
    raise ConfigurationError(f'num_tasks={num_tasks} must be at least 1.')
  if steps_per_task < 1:
    raise ConfigurationError(f'steps_per_task={steps_per_task} must be at least 1.')
  if batch_size < 1:
    raise ConfigurationError(f'batch_size={batch_size} must be at least 1.')
  run = engine.Run(
    seed=seed, workdir=workdir, dry_run=dry_run, total_steps=num_tasks * steps_per_task, keep_checkpoints=2
  )
  data = data or pipeline.load_tfds('sklearn_digits', scale=1 / 16)
  width = int(np.prod(np.shape(data.example_inputs(1))[1:]))  # from the feature spec: a dry run reads no data
  init_inputs = {'x': jnp.zeros((2, width)), 'context': jnp.zeros((2, width))}
  tx = optimizer(num_tasks * steps_per_task)
  init = lambda key: state_lib.create_state(state_lib.init_variables(model, init_inputs, key), tx)  # noqa: E731
  if run.dry_run:
    return run.dry_run_result(run.build(init))

  member_streams = [streams.permuted_stream(data, num_tasks=num_tasks, seed=s) for s in run.seeds]
  shared = run.place(_pools(member_streams[0]), per_member=False)  # one copy of the images for every seed
  tasks = run.place(run.stack([_task_arrays(s, center_context) for s in member_streams]))  # (T, P) per member
  state = run.resume(run.build(init))
  num_params = state_lib.count_params(run.members_of(state['params'])[0])

  one_step = make_train_step(model, PermutedContextTask(batch_size), tx)
  data_key, dropout_key = run.place((run.key('data'), run.key('dropout')))

  def train_task(state, shared, tasks, t, data_key, dropout_key):
    arrays = {**shared['train'], 'permutation': tasks['perms'][t], 'context': tasks['protos'][t]}

    def body(s, _):
      return one_step(s, arrays, data_key, dropout_key)

    state, metrics = jax.lax.scan(body, state, None, length=steps_per_task)
    return state, jax.tree_util.tree_map(jnp.mean, metrics)

  train = run.jit(train_task, member_axes=(0, None, 0, None, 0, 0), donate_argnums=(0,))
  evaluate = run.jit(lambda s, sh, tk: _eval_all(model, {'params': s['params'], **s['model_state']}, sh['eval'],
                                                 tk['perms'], tk['protos']), member_axes=(0, None, 0))  # fmt: skip
  for t in range(run.start_step // steps_per_task, num_tasks):
    state, metrics = train(state, shared, tasks, t, data_key, dropout_key)
    step = (t + 1) * steps_per_task
    if t == run.start_step // steps_per_task:
      run.first_step_done(step, state)
    run.log(step, 'train', {**metrics, 'task': jnp.full_like(metrics['loss'], t)})
    if (t + 1) % checkpoint_every_tasks == 0 or t + 1 == num_tasks:
      run.save(step, state)

  finals = []
  for acc_inf, acc_oracle, task_acc in run.members_of(evaluate(state, shared, tasks)):
    finals.append({
      'step': num_tasks * steps_per_task,
      'num_tasks': num_tasks,
      'num_params': num_params,
      'accuracy': float(np.mean(acc_inf)),
      'accuracy_oracle_context': float(np.mean(acc_oracle)),
      'task_inference_accuracy': float(np.mean(task_acc)),
      'accuracy_first_task': float(acc_inf[0]),
      'accuracy_last_task': float(acc_inf[-1]),
      'per_task_accuracy': [float(a) for a in acc_inf],
    })  # fmt: skip
  run.log_rows(num_tasks * steps_per_task, 'eval', [{k: v for k, v in f.items() if k != 'per_task_accuracy'}
                                                    for f in finals], check=False)  # fmt: skip
  return run.finish(finals, plot_skip=('task',))


def _pools(stream) -> dict[str, dict[str, np.ndarray]]:
  """The images every seed shares: {'train': {'pool', 'targets', decoding}, 'eval': the same for the test split}.

  Every task of a permuted stream holds the whole split in pool order (checked), so task t's example n is pool row
  n permuted by task t's permutation.
  """
  whole = lambda index, pool: np.array_equal(index, np.broadcast_to(np.arange(len(pool)), index.shape))  # noqa: E731
  if not (whole(stream.train_index, stream.train_pool) and whole(stream.eval_index, stream.eval_pool)):
    raise ConfigurationError('permuted tasks must all hold the whole data set in order (no subsample, no padding).')
  decoding = stream.decoding()
  return {
    'train': {'pool': stream.train_pool, 'targets': stream.train_targets[0], **decoding},
    'eval': {'pool': stream.eval_pool, 'targets': stream.eval_targets[0], **decoding},
  }


def _task_arrays(stream, center_context: bool) -> dict[str, np.ndarray]:
  """One seed's tasks: perms (T, P) int32 feature permutations, protos (T, P) float32 prototypes."""
  return {
    'perms': stream.permutations,
    'protos': stream_prototypes(stream, center_context).astype(np.float32),
  }
