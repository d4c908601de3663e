"""Permuted digits with task-prototype contexts (Iyer et al. 2022, on scikit-learn's 8x8 digits instead of MNIST).

Task t applies a fixed random pixel permutation to every image (task 0 is unpermuted); the tasks come from the
shared continual-learning stream `common.continual.streams.permuted_stream` (seeded by the run's seed) and are
trained one after another with one shared output head. The context of task t is its prototype: the mean permuted
training image. At test time the context is inferred per example as the nearest prototype (Euclidean), as in Numenta's
`prototype` experiments, so no task id is given. After the last task, accuracy is measured on every task's test
set; the run also reports the accuracy with the true prototype ("oracle context") and how often the prototype
inference picks the right task.

Entry point `run` follows the repo contract (gin kwargs + workdir + dry_run); the model is any module taking
{'x': (B, 64), 'context': (B, 64)} (DendriticMLP covers all four compared variants). Steps of one task run as one
jitted lax.scan; the state is checkpointed every few tasks and a restarted run resumes after the last saved task.
"""

import functools
import json
import os
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from common.continual import streams
from common.data import pipeline
from common.train import state as state_lib
from common.train.checkpoint import Checkpointer
from common.train.errors import ConfigurationError
from common.train.loop import make_train_step
from common.train.metrics import MetricWriter

_PARAMS, _DATA, _DROPOUT = 0, 1, 2


def prototypes(task_inputs: np.ndarray, center: bool = False) -> np.ndarray:
  """(T, P) mean training image of every task, from task_inputs (T, N, P).

  center=True subtracts each prototype's mean pixel value (the same scalar for every task, since the tasks are
  permutations of one another): it removes the component all contexts share, so segments can tell tasks apart.
  """
  protos = task_inputs.mean(1)
  return protos - protos.mean(-1, keepdims=True) if center else protos


class PermutedContextTask:
  """The loop's task interface for one task at a time: arrays carry the current task's images and context."""

  def __init__(self, batch_size: int, num_classes: int = 10):
    self.batch_size = batch_size
    self.num_classes = num_classes

  def train_batch(self, arrays, key, step):
    idx = jax.random.randint(jax.random.fold_in(key, step), (self.batch_size,), 0, arrays['inputs'].shape[0])
    x = arrays['inputs'][idx]
    ctx = jnp.broadcast_to(arrays['context'], x.shape[:1] + arrays['context'].shape)
    return {'inputs': {'x': x, 'context': ctx}, 'targets': arrays['targets'][idx]}

  def loss(self, logits, batch):
    labels = batch['targets']
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
    acc = (jnp.argmax(logits, -1) == labels).astype(jnp.float32).mean()
    return ce, {'loss': ce, 'accuracy': acc}


def _eval_all(model, variables, test_x, test_y, protos):
  """Per-task accuracy with inferred and oracle contexts, and task-inference accuracy.

  Shapes: test_x (T, M, P) every task's (permuted) test images, test_y (T, M), protos (T, P).
  """

  def one_task(x, y, proto, t):
    dist = jnp.sum((x[:, None, :] - protos[None]) ** 2, -1)  # (M, T)
    guess = jnp.argmin(dist, -1)
    inferred = model.apply(variables, {'x': x, 'context': protos[guess]}, train=False)
    oracle = model.apply(variables, {'x': x, 'context': jnp.broadcast_to(proto, x.shape)}, train=False)
    acc = lambda logits: jnp.mean(jnp.argmax(logits, -1) == y)  # noqa: E731
    return acc(inferred), acc(oracle), jnp.mean(guess == t)

  return jax.lax.map(lambda args: one_task(*args), (test_x, test_y, protos, jnp.arange(protos.shape[0])))


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
  """Trains `model` on `num_tasks` permuted-digits tasks in sequence; returns the accuracy after all tasks.

  Args:
    model: a Flax module called with {'x': (B, P), 'context': (B, P)}.
    num_tasks: number of tasks (>= 1); steps_per_task: optimizer steps per task; batch_size: examples per step.
    optimizer: a factory num_steps -> optax transformation (e.g. optim.create_optimizer).
    seed: the run's seed (parameters, batches and permutations derive from it).
    data: the dataset (default: sklearn_digits scaled to [0, 1]).
    checkpoint_every_tasks: save the state after every this many tasks (and after the last).
    center_context: subtract the shared mean pixel value from every prototype (see `prototypes`).
  """
  if num_tasks < 1:
    raise ConfigurationError(f'num_tasks={num_tasks} must be at least 1.')
  if steps_per_task < 1:
    raise ConfigurationError(f'steps_per_task={steps_per_task} must be at least 1.')
  if batch_size < 1:
    raise ConfigurationError(f'batch_size={batch_size} must be at least 1.')
  root = jax.random.PRNGKey(seed)
  init_inputs = {'x': jnp.zeros((2, 64)), 'context': jnp.zeros((2, 64))}
  tx = optimizer(num_tasks * steps_per_task)
  init = functools.partial(state_lib.init_variables, model, init_inputs)
  if dry_run:
    variables = jax.eval_shape(init, jax.random.fold_in(root, _PARAMS))
    print(state_lib.param_table(variables['params']))
    return {'num_params': state_lib.count_params(variables['params'])}

  data = data or pipeline.load_tfds('sklearn_digits', scale=1 / 16)
  stream = streams.permuted_stream(data, num_tasks=num_tasks, seed=seed)
  train_x = stream.train_inputs.reshape(num_tasks, stream.train_inputs.shape[1], -1)  # (T, N, P)
  test_x = stream.eval_inputs.reshape(num_tasks, stream.eval_inputs.shape[1], -1)  # (T, M, P)
  if train_x.shape[-1] != 64:
    raise ConfigurationError(f'expected 64-pixel digits, got inputs of width {train_x.shape[-1]}.')
  if not (np.all(stream.train_counts == train_x.shape[1]) and np.all(stream.eval_counts == test_x.shape[1])):
    raise ConfigurationError('permuted tasks must all hold the whole data set (no padding).')
  protos = prototypes(train_x, center_context)

  state = state_lib.create_state(jax.jit(init)(jax.random.fold_in(root, _PARAMS)), tx)
  num_params = state_lib.count_params(state['params'])
  ckpt = Checkpointer(workdir, keep=2)
  writer = MetricWriter(workdir)
  first_task = 0
  if ckpt.latest_step() is not None:
    state = ckpt.restore(state)
    first_task = int(state['step']) // steps_per_task
    print(f'Resumed after task {first_task}', flush=True)

  task = PermutedContextTask(batch_size)
  one_step = make_train_step(model, task, tx)
  data_key, dropout_key = jax.random.fold_in(root, _DATA), jax.random.fold_in(root, _DROPOUT)

  @jax.jit
  def train_task(state, arrays):
    def body(s, _):
      s, m = one_step(s, arrays, data_key, dropout_key)
      return s, m

    state, metrics = jax.lax.scan(body, state, None, length=steps_per_task)
    return state, jax.tree_util.tree_map(jnp.mean, metrics)

  evaluate = jax.jit(functools.partial(_eval_all, model))
  for t in range(first_task, num_tasks):
    arrays = {
      'inputs': jnp.asarray(train_x[t]),
      'targets': jnp.asarray(stream.train_targets[t]),
      'context': jnp.asarray(protos[t]),
    }
    state, metrics = train_task(state, arrays)
    writer.write((t + 1) * steps_per_task, 'train', {**jax.device_get(metrics), 'task': t})
    if (t + 1) % checkpoint_every_tasks == 0 or t + 1 == num_tasks:
      ckpt.save((t + 1) * steps_per_task, state)

  variables = {'params': state['params'], **state['model_state']}
  acc_inf, acc_oracle, task_acc = jax.device_get(
    evaluate(variables, jnp.asarray(test_x), jnp.asarray(stream.eval_targets), jnp.asarray(protos))
  )
  final = {
    'num_tasks': num_tasks,
    'num_params': num_params,
    'accuracy': float(np.mean(acc_inf)),
    'accuracy_oracle_context': float(np.mean(acc_oracle)),
    'task_inference_accuracy': float(np.mean(task_acc)),
    'accuracy_first_task': float(acc_inf[0]),
    'accuracy_last_task': float(acc_inf[-1]),
  }
  writer.write(num_tasks * steps_per_task, 'eval', final)
  ckpt.wait()
  ckpt.close()
  writer.close()
  if jax.process_index() == 0:
    with open(os.path.join(workdir, 'final_metrics.json'), 'w') as f:
      json.dump({**final, 'per_task_accuracy': [float(a) for a in acc_inf]}, f, indent=2)
  return final
