"""The training loop: one function, readable top to bottom.

`train` is the entry point gin configures for supervised experiments. Every entry point in this repo keeps
the same contract: keyword arguments bound by gin, plus `workdir` and `dry_run` passed by the launcher; it
returns a dict of final metrics.

Determinism: every random stream derives from `seed` with fold_in (parameters, data order, dropout), and the
training batch of step s is a pure function of (seed, s). A run killed at any moment and started again
resumes from its latest checkpoint and ends with bitwise the parameters of a run that was never stopped.
"""

import functools
import json
import math
import os
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from common.train import sharding
from common.train import state as state_lib
from common.train.checkpoint import Checkpointer
from common.train.errors import ConfigurationError, TrainingDiverged
from common.train.metrics import MetricWriter
from common.train.plots import plot_curves
from common.train.progress import Progress

# Stream ids for fold_in: stable, so adding a new stream never changes the others.
_PARAMS, _DATA, _DROPOUT = 0, 1, 2
_AFTER_STEP = 7  # folded into the dropout stream's key for after_step hooks


def make_train_step(model, task, optimizer, mesh=None, after_step: Callable | None = None) -> Callable:
  """Returns train_step(state, arrays, data_key, dropout_key) -> (state, metrics) for one optimizer step.

  With a `mesh`, the batch is split over its 'data' axis (data parallelism; see sharding.py).
  `after_step(state, batch, key) -> state` (optional, traced inside the step) runs after the optimizer update on
  the new state (its 'step' already advanced): updates that are not gradient steps, e.g. dynamic-sparsity masks
  kept in 'model_state'. Its key is a pure function of (seed, step).
  """

  def loss_fn(params, model_state, batch, dropout_key):
    variables = {'params': params, **model_state}
    mutable = list(model_state) + [state_lib.AUX_LOSS_COLLECTION]
    outputs, updates = model.apply(
      variables, batch['inputs'], train=True, rngs={'dropout': dropout_key}, mutable=mutable
    )
    loss, metrics = task.loss(outputs, batch)
    aux = updates.pop(state_lib.AUX_LOSS_COLLECTION, {})
    aux_loss = sum(jnp.sum(x) for x in jax.tree_util.tree_leaves(aux))
    if jax.tree_util.tree_leaves(aux):
      metrics = {**metrics, 'aux_loss': aux_loss}
    return loss + aux_loss, (dict(updates), metrics)

  def train_step(state, arrays, data_key, dropout_key):
    step = state['step']
    batch = task.train_batch(arrays, data_key, step)
    if mesh is not None:
      batch = sharding.shard_batch(batch, mesh)
    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
    (total, (model_state, metrics)), grads = grad_fn(
      state['params'], state['model_state'], batch, jax.random.fold_in(dropout_key, step)
    )
    updates, opt_state = optimizer.update(grads, state['opt_state'], state['params'])
    params = optax.apply_updates(state['params'], updates)
    metrics = {**metrics, 'total_loss': total, 'grad_norm': optax.global_norm(grads)}
    new_state = {'step': step + 1, 'params': params, 'model_state': model_state, 'opt_state': opt_state}
    if after_step is not None:
      new_state = after_step(new_state, batch, jax.random.fold_in(jax.random.fold_in(dropout_key, _AFTER_STEP), step))
    return new_state, metrics

  return train_step


def accumulating(train_step: Callable) -> Callable:
  """Wraps a train step so it adds its metrics into running sums (kept on device until the next log)."""

  def step_and_accumulate(state, metric_sums, *args):
    state, metrics = train_step(state, *args)
    return state, jax.tree_util.tree_map(jnp.add, metric_sums, metrics)

  return step_and_accumulate


def make_eval_step(model, task) -> Callable:
  """Returns eval_step(params, model_state, batch) -> (metrics, weight) for one fixed-size batch."""

  def eval_step(params, model_state, batch):
    outputs = model.apply({'params': params, **model_state}, batch['inputs'], train=False)
    _, metrics = task.loss(outputs, batch)
    return metrics, jnp.sum(batch['weight'])

  return eval_step


def evaluate(eval_step, state, batches) -> dict[str, float]:
  """Example-weighted means of the task's metrics over all eval batches."""
  sums, total = {}, 0.0
  for batch in batches:
    metrics, weight = eval_step(state['params'], state['model_state'], batch)
    weight = float(weight)
    for k, v in jax.device_get(metrics).items():
      sums[k] = sums.get(k, 0.0) + float(v) * weight
    total += weight
  return {k: v / max(total, 1.0) for k, v in sums.items()}


def check_xla_options(options: dict[str, Any] | None) -> dict[str, Any] | None:
  """Returns `options` if XLA accepts them (compiling a trivial program), else raises ConfigurationError."""
  if not options:
    return None
  options = dict(options)
  try:
    jax.jit(lambda x: x + 1, compiler_options=options).lower(jnp.zeros(())).compile()
  except Exception as err:  # XLA reports an unknown name or bad value as a generic runtime error
    raise ConfigurationError(
      f'train.xla_options={options} was refused by XLA ({str(err).splitlines()[0][:200]}). Check the names and values '
      'against the installed jaxlib (common/train/xla_options.py shows working ones) or remove train.xla_options.'
    ) from err
  return options


def _check_cadence(name: str, value: int) -> int:
  if value < 1:
    raise ConfigurationError(f'train.{name}={value} must be a positive number of steps.')
  return value


def train(
  *,
  model,
  task,
  optimizer: Callable[[int], optax.GradientTransformation],
  num_steps: int,
  seed: int,
  workdir: str,
  dry_run: bool = False,
  log_every: int = 100,
  eval_every: int = 500,
  checkpoint_every: int = 500,
  keep_checkpoints: int = 3,
  xla_options: dict[str, Any] | None = None,
  after_step: Callable | None = None,
) -> dict[str, Any]:
  """Trains `model` on `task` for `num_steps` steps and returns the final eval metrics.

  Args:
    model: a flax.linen Module called as `model(inputs, train=bool)`.
    task: data + loss + metrics (see common/train/tasks.py for the interface).
    optimizer: a factory `num_steps -> optax.GradientTransformation` (e.g. optim.create_optimizer).
    num_steps: total number of optimizer steps.
    seed: the run's seed; every random stream derives from it.
    workdir: where metrics, TensorBoard events, checkpoints and plots go.
    dry_run: build the model with jax.eval_shape, print the parameter table, train nothing.
    log_every, eval_every, checkpoint_every: cadences in steps (the last step always logs, evaluates, saves).
    keep_checkpoints: how many checkpoints to keep.
    xla_options: XLA compiler options for the train and eval steps (common/train/xla_options.py); None compiles
      with XLA's defaults.
    after_step: optional `(state, batch, key) -> state` run inside the jitted step after each update (see
      make_train_step), e.g. dynamic sparse training's prune-and-regrow.
  """
  if num_steps < 1:
    raise ConfigurationError(f'train.num_steps={num_steps} must be at least 1.')
  for name, value in (('log_every', log_every), ('eval_every', eval_every), ('checkpoint_every', checkpoint_every)):
    _check_cadence(name, value)
  root = jax.random.PRNGKey(seed)
  params_key, data_key, dropout_key = (jax.random.fold_in(root, i) for i in (_PARAMS, _DATA, _DROPOUT))
  tx = optimizer(num_steps)

  # 1. Build the model and the optimizer state (shapes only for a dry run).
  init = functools.partial(state_lib.init_variables, model, task.init_inputs())
  if dry_run:
    variables = jax.eval_shape(init, params_key)
    print(state_lib.param_table(variables['params']))
    abstract_state = jax.eval_shape(lambda v: state_lib.create_state(v, tx), variables)
    return {'num_params': state_lib.count_params(abstract_state['params'])}
  mesh = sharding.data_mesh()
  # One program for the optimizer state instead of one eager op (and one tiny compile) per parameter shape.
  state = sharding.replicate(jax.jit(lambda v: state_lib.create_state(v, tx))(jax.jit(init)(params_key)), mesh)
  num_params = state_lib.count_params(state['params'])

  # 2. Resume from the latest checkpoint, if any.
  ckpt = Checkpointer(workdir, keep=keep_checkpoints)
  writer = MetricWriter(workdir)
  if ckpt.latest_step() is not None:
    state = ckpt.restore(state)
    print(f'Resumed from {ckpt.directory}/{ckpt.latest_step()}', flush=True)
  start_step = int(state['step'])
  writer.truncate_after(start_step)

  # 3. Compile the steps. Data live on the device and are indexed inside the step: no per-step transfer.
  one_step = make_train_step(model, task, tx, mesh, after_step)
  xla_options = check_xla_options(xla_options)
  train_step = jax.jit(accumulating(one_step), donate_argnums=(0, 1), compiler_options=xla_options)
  eval_step = jax.jit(make_eval_step(model, task), compiler_options=xla_options)
  arrays = sharding.replicate(task.train_arrays(), mesh)
  eval_batches = [sharding.replicate(b, mesh) for b in task.eval_batches()]
  # Every argument is committed to the mesh the way the step's outputs are, so the second call reuses the first
  # call's executable (uncommitted arguments would compile the step twice).
  data_key, dropout_key = sharding.replicate((data_key, dropout_key), mesh)
  metric_shapes = jax.eval_shape(one_step, state, arrays, data_key, dropout_key)[1]
  zero_metrics = lambda: sharding.replicate(  # noqa: E731
    jax.tree_util.tree_map(lambda s: np.zeros(s.shape, s.dtype), metric_shapes), mesh
  )

  # 4. The loop. Host syncs happen only at log/eval/checkpoint boundaries.
  progress = Progress(num_steps, start_step)
  metric_sums, since_log = zero_metrics(), 0
  last_good_step = ckpt.latest_step()
  for step in range(start_step + 1, num_steps + 1):
    state, metric_sums = train_step(state, metric_sums, arrays, data_key, dropout_key)
    since_log += 1
    if step == start_step + 1:
      jax.block_until_ready(state)
      progress.first_step_done(step)
      first_step_unix = time.time()
    is_last = step == num_steps
    if step % log_every == 0 or is_last:
      means = {k: float(v) / since_log for k, v in jax.device_get(metric_sums).items()}
      _stop_if_diverged(means, step, last_good_step, ckpt)
      means['steps_per_sec'] = progress.rate(step)
      writer.write(step, 'train', means)
      progress.update(step, f'loss={means["loss"]:.4g}')
      metric_sums, since_log = zero_metrics(), 0
    if step % eval_every == 0 or is_last:
      writer.write(step, 'eval', evaluate(eval_step, state, eval_batches))
    if step % checkpoint_every == 0 or is_last:
      _stop_if_diverged(_finite_probe(state), step, last_good_step, ckpt)
      ckpt.save(step, state)
      last_good_step = step
  progress.close()

  # 5. Final metrics, curves, and every pending save flushed to disk.
  final = {'step': num_steps, 'num_params': num_params, **evaluate(eval_step, state, eval_batches)}
  if progress.compile_seconds is not None:
    final['compile_seconds'] = progress.compile_seconds
    # For the launcher-overhead benchmark: wall-clock time when the first step (compile included) finished.
    final['first_step_unix_time'] = first_step_unix
  ckpt.wait()
  ckpt.close()
  writer.close()
  if jax.process_index() == 0:
    _write_json(os.path.join(workdir, 'final_metrics.json'), final)
    plot_curves(writer.jsonl_path, os.path.join(workdir, 'curves.png'))
  return final


_global_norm = jax.jit(optax.global_norm)  # one program, not one eager op per parameter


def _finite_probe(state) -> dict[str, float]:
  """One number that is non-finite iff some parameter is (checked before every save)."""
  return {'parameter_norm': float(_global_norm(state['params']))}


def _stop_if_diverged(metrics: dict[str, float], step: int, last_good_step, ckpt) -> None:
  bad = {k: v for k, v in metrics.items() if not math.isfinite(v)}
  if bad:
    ckpt.wait()
    ckpt.close()
    where = f'step {last_good_step} in {ckpt.directory}' if last_good_step is not None else 'none was saved yet'
    raise TrainingDiverged(
      f'non-finite values at step {step}: {bad}. Training stopped; the last good checkpoint is {where}. '
      'Lower the learning rate, add gradient clipping (create_optimizer.grad_clip_norm), or check the inputs.'
    )


def _write_json(path: str, obj) -> None:
  tmp = path + '.tmp'
  with open(tmp, 'w') as f:
    json.dump(obj, f, indent=2, default=lambda x: np.asarray(x).tolist())
  os.replace(tmp, path)
