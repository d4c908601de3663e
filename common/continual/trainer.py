"""The continual entry point: one model, one learner, a stream of tasks, evaluated on every task after each.

Same contract as common.train.loop.train: keyword arguments bound by gin plus `workdir` and `dry_run`; metrics
through MetricWriter, checkpoints through Checkpointer, returns the final metrics. A run's life:

  1. build the model (shapes only for a dry run), the learner's state, and the accuracy of the untrained model on
     every task (the baseline of forward transfer);
  2. resume from the latest checkpoint: the state holds the global step, so the run restarts in the task and at
     the step it stopped at (checkpoints are written every `checkpoint_every` steps and at every task boundary,
     after the learner's consolidation and the evaluation row);
  3. for each task: `steps_per_task` optimizer steps, run as lax.scan chunks of `log_every` steps (one compile
     for the whole stream: the task is a traced index; each step also lets the learner learn from its batch,
     learner.observe_batch), then learner.end_task, then eval on all T tasks into row t of the accuracy
     matrix, logged with the learner's diagnostics;
  4. write ACC / BWT / FWT / forgetting, the accuracy matrix (JSON + heatmap PNG) and the curves.

The batch of global step s is a pure function of (seed, s), and consolidation keys of (seed, task), so a resumed
run is the run that never stopped. The train step differs from loop.make_train_step (learner penalty, learner
state, projection args, per-batch learner updates, the task index), so it is written here; evaluation reuses
loop.make_eval_step/evaluate.
"""

import functools
import json
import os
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from common.continual import metrics as cl_metrics
from common.continual import objective
from common.continual.learners import Learner
from common.continual.streams import TaskStream
from common.train import loop
from common.train import state as state_lib
from common.train.checkpoint import Checkpointer
from common.train.errors import ConfigurationError, TrainingDiverged
from common.train.metrics import MetricWriter
from common.train.plots import plot_curves
from common.train.progress import Progress

_PARAMS, _DATA, _DROPOUT, _LEARNER, _CONSOLIDATE = 0, 1, 2, 3, 4


def make_continual_step(model, learner: Learner, tx, *, batch_size: int, steps_per_task: int) -> Callable:
  """Returns step(state, arrays, data_key, dropout_key) -> (state, metrics); the task is state['step'] // S."""

  def loss_fn(params, model_state, learner_state, batch, dropout_key):
    variables = {'params': params, **model_state}
    mutable = list(model_state) + [state_lib.AUX_LOSS_COLLECTION]
    outputs, updates = model.apply(
      variables, batch['inputs'], train=True, rngs={'dropout': dropout_key}, mutable=mutable
    )
    loss, metrics = objective.classification_loss(outputs, batch)
    aux = updates.pop(state_lib.AUX_LOSS_COLLECTION, {})
    aux_loss = sum(jnp.sum(x) for x in jax.tree_util.tree_leaves(aux))
    penalty = learner.penalty(params, learner_state)
    return loss + aux_loss + penalty, (dict(updates), {**metrics, 'penalty': penalty})

  def step_fn(state, arrays, data_key, dropout_key):
    step = state['step']
    task = step // steps_per_task
    batch = learner.train_batch(arrays, state['learner'], data_key, step, task, batch_size)
    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
    (total, (model_state, metrics)), grads = grad_fn(
      state['params'], state['model_state'], state['learner'], batch, jax.random.fold_in(dropout_key, step)
    )
    extra = learner.transform_args(state['learner'])
    updates, opt_state = tx.update(grads, state['opt_state'], state['params'], **extra)
    params = optax.apply_updates(state['params'], updates)
    learner_state = learner.observe_batch(
      state['learner'], model=model, params=state['params'], model_state=state['model_state'], batch=batch, task=task
    )
    learner_state = learner.after_step(learner_state, grads, state['params'], params)
    metrics = {**metrics, 'total_loss': total, 'grad_norm': optax.global_norm(grads)}
    new_state = {
      **state,
      'step': step + 1,
      'params': params,
      'model_state': model_state,
      'opt_state': opt_state,
      'learner': learner_state,
    }
    return new_state, metrics

  return step_fn


def _chunk_runner(step_fn):
  """run(state, sums, arrays, data_key, dropout_key, length) -> (state, sums): `length` steps in one lax.scan."""

  def run(state, sums, arrays, data_key, dropout_key, length):
    def body(carry, _):
      state, sums = carry
      state, m = step_fn(state, arrays, data_key, dropout_key)
      return (state, jax.tree_util.tree_map(jnp.add, sums, m)), None

    (state, sums), _ = jax.lax.scan(body, (state, sums), None, length=length)
    return state, sums

  return jax.jit(run, static_argnums=(5,), donate_argnums=(0, 1))


def train(
  *,
  model,
  stream: TaskStream,
  learner: Learner,
  optimizer: Callable[[int], optax.GradientTransformation],
  steps_per_task: int,
  seed: int,
  workdir: str,
  dry_run: bool = False,
  batch_size: int = 64,
  reset_optimizer: bool = True,
  log_every: int = 100,
  checkpoint_every: int = 1000,
  eval_batch_size: int = 512,
  keep_checkpoints: int = 2,
) -> dict[str, Any]:
  """Trains `model` through `stream` with `learner`; returns ACC, BWT, FWT, forgetting and the final row.

  Args:
    model: a flax.linen Module called as `model(inputs, train=bool)` returning (B, num_classes) logits.
    stream: a TaskStream (common/continual/streams.py).
    learner: a Learner (fine-tuning, Joint, EWC, SI, HLOP, SVDProjection, Rehearsal, ...).
    optimizer: a factory `num_steps -> optax.GradientTransformation` (optim.create_optimizer); it is called
      with steps_per_task when reset_optimizer (a fresh optimizer per task), else with the total steps.
    steps_per_task: optimizer steps on each task.
    seed: every random stream derives from it.
    batch_size: examples per step from the current task (a learner may add more, e.g. replay).
    reset_optimizer: re-initialise the optimizer state at the start of every task.
    log_every, checkpoint_every: cadences in steps (task boundaries always checkpoint).
  """
  num_tasks = stream.num_tasks
  if num_tasks < 1:
    raise ConfigurationError('train.stream has zero tasks; build it with num_tasks >= 1.')
  if steps_per_task < 1:
    raise ConfigurationError(f'train.steps_per_task={steps_per_task} must be at least 1.')
  for name, value in (('log_every', log_every), ('checkpoint_every', checkpoint_every)):
    if value < 1:
      raise ConfigurationError(f'train.{name}={value} must be a positive number of steps.')
  smallest = int(stream.train_counts.min())
  if not 1 <= batch_size <= smallest:
    raise ConfigurationError(
      f'train.batch_size={batch_size} must be between 1 and the {smallest} examples of the smallest task.'
    )
  learner.validate(stream)
  total_steps = num_tasks * steps_per_task
  root = jax.random.PRNGKey(seed)
  params_key, data_key, dropout_key, learner_key, consolidate_key = (
    jax.random.fold_in(root, i) for i in (_PARAMS, _DATA, _DROPOUT, _LEARNER, _CONSOLIDATE)
  )
  base_tx = optimizer(steps_per_task if reset_optimizer else total_steps)
  pre, post = learner.gradient_transformation(), learner.post_transformation()
  tx = optax.chain(*[t for t in (pre, base_tx, post) if t is not None])

  # 1. Model, learner state, optimizer state (shapes only for a dry run).
  init_inputs = stream.train_inputs[0, :2]
  init = functools.partial(state_lib.init_variables, model, init_inputs)

  def build(variables):
    state = state_lib.create_state(variables, tx)
    state['learner'] = learner.init(state['params'], stream, learner_key)
    state['acc'] = jnp.zeros((num_tasks, num_tasks), jnp.float32)
    state['baseline'] = jnp.zeros((num_tasks,), jnp.float32)
    return state

  if dry_run:
    variables = jax.eval_shape(init, params_key)
    print(state_lib.param_table(variables['params']))
    abstract = jax.eval_shape(build, variables)
    return {'num_params': state_lib.count_params(abstract['params']), 'num_tasks': num_tasks}
  state = jax.jit(lambda key: build(init(key)))(params_key)
  num_params = state_lib.count_params(state['params'])

  eval_step = jax.jit(loop.make_eval_step(model, objective.MaskedClassification()))
  eval_sets = [[jax.device_put(b) for b in stream.eval_batches(j, eval_batch_size)] for j in range(num_tasks)]

  def eval_all(state) -> np.ndarray:
    return np.array([loop.evaluate(eval_step, state, eval_sets[j])['accuracy'] for j in range(num_tasks)])

  # 2. Resume.
  ckpt = Checkpointer(workdir, keep=keep_checkpoints)
  writer = MetricWriter(workdir)
  if ckpt.latest_step() is not None:
    state = ckpt.restore(state)
    print(f'Resumed from {ckpt.directory}/{ckpt.latest_step()}', flush=True)
  else:
    state['baseline'] = jnp.asarray(eval_all(state), jnp.float32)
  start_step = int(state['step'])
  writer.truncate_after(start_step)

  # 3. Compile once; stream arrays live on the device.
  arrays = jax.device_put(stream.train_arrays())
  step_fn = make_continual_step(model, learner, tx, batch_size=batch_size, steps_per_task=steps_per_task)
  run_chunk = _chunk_runner(step_fn)
  end_task = jax.jit(functools.partial(learner.end_task, model=model))
  metric_shapes = jax.eval_shape(step_fn, state, arrays, data_key, dropout_key)[1]
  zeros = jax.jit(lambda: jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), metric_shapes))
  init_opt = jax.jit(tx.init)
  set_row = jax.jit(lambda acc, task, row: acc.at[task].set(row))
  param_norm = jax.jit(optax.global_norm)
  # Learners without diagnostics skip the (tiny) compile.
  has_diagnostics = type(learner).diagnostics is not Learner.diagnostics
  diagnostics = jax.jit(learner.diagnostics) if has_diagnostics else (lambda _: {})

  progress = Progress(total_steps, start_step)
  step = start_step
  for task in range(start_step // steps_per_task, num_tasks):
    end = (task + 1) * steps_per_task
    if step == task * steps_per_task and reset_optimizer:
      state['opt_state'] = init_opt(state['params'])
    while step < end:
      length = min(log_every - step % log_every, end - step, checkpoint_every - step % checkpoint_every)
      state, sums = run_chunk(state, zeros(), arrays, data_key, dropout_key, length)
      if step == start_step:
        jax.block_until_ready(state)
        progress.first_step_done(step + length)
      step += length
      means = {k: float(v) / length for k, v in jax.device_get(sums).items()}
      _check_finite(means, step, ckpt)
      if step % log_every == 0 or step == end:
        means['task'] = task
        means['steps_per_sec'] = progress.rate(step)
        writer.write(step, 'train', means)
        progress.update(step, f'task={task} loss={means["loss"]:.4g}')
      if step % checkpoint_every == 0 and step < end:
        ckpt.save(step, state)
    # Task boundary: consolidate (if the stream tells the learner), evaluate all tasks, checkpoint.
    if stream.has_boundaries:
      state['learner'] = end_task(
        state['learner'],
        params=state['params'],
        model_state=state['model_state'],
        arrays=arrays,
        task=np.int32(task),
        key=jax.random.fold_in(consolidate_key, task),
      )
    row = eval_all(state)
    state['acc'] = set_row(state['acc'], task, np.asarray(row, np.float32))
    seen = row[: task + 1]
    diag = {k: float(v) for k, v in jax.device_get(diagnostics(state['learner'])).items()}
    summary = {'task': task, 'avg_seen_accuracy': float(seen.mean()), 'current_accuracy': row[task]}
    writer.write(step, 'eval', {**summary, **diag})
    _check_finite({'parameter_norm': float(param_norm(state['params']))}, step, ckpt)
    ckpt.save(step, state)
  progress.close()

  # 4. Final metrics and artefacts.
  acc = np.asarray(jax.device_get(state['acc']))
  baseline = np.asarray(jax.device_get(state['baseline']))
  final = {
    'step': total_steps,
    'num_params': num_params,
    **cl_metrics.continual_metrics(acc, baseline),
    'final_accuracies': acc[-1].tolist(),
  }
  if progress.compile_seconds is not None:
    final['compile_seconds'] = progress.compile_seconds
  ckpt.wait()
  ckpt.close()
  summary = {k: v for k, v in final.items() if isinstance(v, float)}
  writer.write(total_steps, 'continual', summary)
  writer.close()
  if jax.process_index() == 0:
    _write_json(os.path.join(workdir, 'accuracy_matrix.json'), {'acc': acc.tolist(), 'baseline': baseline.tolist()})
    _write_json(os.path.join(workdir, 'final_metrics.json'), final)
    title = f'{learner.name}: ACC={final["acc"]:.3f} BWT={final["bwt"]:+.3f}'
    cl_metrics.plot_accuracy_matrix(acc, os.path.join(workdir, 'accuracy_matrix.png'), title)
    # Curves only: the one-point summary and the per-task diagnostics stay in metrics.jsonl (one panel each made
    # the figure ~25 panels wide and its drawing the slowest part of a short run).
    diag_keys = jax.eval_shape(diagnostics, state['learner']) if has_diagnostics else {}
    skip = ('steps_per_sec', 'learning_rate', 'task', 'total_loss', *summary, *diag_keys)
    plot_curves(writer.jsonl_path, os.path.join(workdir, 'curves.png'), skip=skip)
  return final


def _check_finite(metrics: dict[str, float], step: int, ckpt) -> None:
  bad = {k: v for k, v in metrics.items() if not np.isfinite(v)}
  if bad:
    ckpt.wait()
    ckpt.close()
    raise TrainingDiverged(
      f'non-finite values at step {step}: {bad}. Training stopped; the last good checkpoint is step '
      f'{ckpt.latest_step()} in {ckpt.directory}. Lower the learning rate or the learner strength.'
    )


def _write_json(path: str, obj) -> None:
  tmp = path + '.tmp'
  with open(tmp, 'w') as f:
    json.dump(obj, f, indent=2, default=lambda x: np.asarray(x).tolist())
  os.replace(tmp, path)
