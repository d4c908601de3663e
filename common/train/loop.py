"""The supervised loop: a short function on the run engine (common/train/engine.py), readable top to bottom.

`train` is the entry point gin configures for supervised experiments. Every entry point in this repo keeps the
same contract: keyword arguments bound by gin, plus `workdir` and `dry_run` passed by the launcher; it returns a
dict of final metrics (a list of them, one per seed, for a vmapped multi-seed run).

Determinism: every random stream derives from `seed` with fold_in (parameters, data order, dropout), and the
training batch of step s is a pure function of (seed, s). A run killed at any moment and started again resumes
from its latest checkpoint and ends with bitwise the parameters of a run that was never stopped.
"""

import os
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from common.train import engine, sharding
from common.train import state as state_lib
from common.train.checkpoint import restore_params
from common.train.errors import ConfigurationError

check_xla_options = engine.check_xla_options
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
  """Example-weighted means of the task's metrics over all eval batches, for one (unvmapped) state on the host.

  For post-training analyses (e.g. pruning sweeps); the loops evaluate through engine.Run.evaluate.
  """
  sums, total = {}, 0.0
  for batch in batches:
    metrics, weight = eval_step(state['params'], state['model_state'], batch)
    weight = float(weight)
    for k, v in jax.device_get(metrics).items():
      sums[k] = sums.get(k, 0.0) + float(v) * weight
    total += weight
  return {k: v / max(total, 1.0) for k, v in sums.items()}


def switch_optimizer(txs: list[optax.GradientTransformation], index) -> optax.GradientTransformation:
  """One transformation applying txs[index] (index traced): per-member optimizers of a vmapped multi-seed run
  (e.g. sweep trials that differ in the learning rate). Their states must share one structure."""
  if len(txs) == 1:
    return txs[0]
  inits = [tx.init for tx in txs]
  updates = [lambda g, s, p, tx=tx: tx.update(g, s, p) for tx in txs]
  return optax.GradientTransformation(
    lambda p: jax.lax.switch(index, inits, p), lambda g, s, p=None: jax.lax.switch(index, updates, g, s, p)
  )


def _member_optimizers(run: engine.Run, optimizer: Callable, num_steps: int) -> Callable:
  """member id (traced) -> the member's optimizer; `.shared` is True when every member has the same one.

  Members of a vmapped sweep may differ in optimizer numbers. When those are create_optimizer arguments that may be
  traced (the launcher then gives each member's 'optimizer_numbers'), one optimizer is built with each number
  indexed by the member id: under vmap every member runs one update with its own values. Otherwise the members'
  optimizers are switched on the member id, which under vmap becomes a select that computes every member's update
  for every member. Both give the same numbers (tests/launch_tools/test_vmapped.py checks the traced numbers against
  the float ones); indexing only saves the other members' updates.
  """
  numbers = run.member_values('optimizer_numbers', None)
  if run.vmapped and numbers[0] is not None:
    table = {k: np.asarray([n[k] for n in numbers], np.float32) for k in numbers[0]}

    def indexed(member):
      return optimizer(num_steps, **{k: jnp.asarray(v)[member] for k, v in table.items()})

    indexed.shared = False
    return indexed
  factories = run.member_values('optimizer', optimizer)
  txs = [f(num_steps) for f in factories] if len({id(f) for f in factories}) > 1 else [optimizer(num_steps)]

  def switched(member):
    return switch_optimizer(txs, member)

  switched.shared = len(txs) == 1
  return switched


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
  engine.check_cadences('train', log_every=log_every, eval_every=eval_every, checkpoint_every=checkpoint_every)
  run = engine.Run(
    seed=seed, workdir=workdir, dry_run=dry_run, total_steps=num_steps, keep_checkpoints=keep_checkpoints,
    xla_options=xla_options,
  )  # fmt: skip
  member_tx = _member_optimizers(run, optimizer, num_steps)
  members = np.arange(len(run.seeds), dtype=np.int32) if run.vmapped else np.int32(0)

  # 1. Build the model and the optimizer state (shapes only for a dry run).
  def build(key, member=0):
    variables = state_lib.init_variables(model, task.init_inputs(), key)
    return state_lib.create_state(variables, member_tx(member))

  if run.dry_run:
    return run.dry_run_result(run.build(build))
  state = run.build(build) if member_tx.shared else run.build(build, member_args=(members,))
  num_params = state_lib.count_params(run.members_of(state['params'])[0])

  # 2. Resume from the latest checkpoint, if any.
  state = run.resume(state)

  # 3. Compile the step. Data live on the device and are indexed inside the step: no per-step transfer.
  mesh = None if run.vmapped else run.mesh

  batches = _GivenBatch(task) if _streaming(task) else task

  def one_step(state, arrays, data_key, dropout_key, member, step):
    # Every member is at the same step, so the step also comes in unbatched (member axis None): a hook's
    # lax.cond on it (e.g. dynamic sparsity's rewiring rounds) stays a branch under vmap instead of becoming a
    # select that runs the rare branch at every step.
    state = {**state, 'step': step}
    tx = member_tx(member)
    return make_train_step(model, batches, tx, mesh, after_step)(state, arrays, data_key, dropout_key)

  # In-memory data live on the device and are indexed inside the step (no per-step transfer); a streaming task's
  # iterators (one per seed) read each host's slice of every global batch, which is passed to the step instead.
  streams = _Iterators(run, task) if _streaming(task) else None
  axes = (0, 0 if streams and run.vmapped else None, 0, 0, 0, None)
  train_step = run.jit(accumulating(one_step), member_axes=(0, 0, *axes[1:]), donate_argnums=(0, 1))
  eval_step = make_eval_step(model, task)
  if streams is None:
    arrays = run.place(task.train_arrays(), per_member=False)
    eval_batches = [run.place(b, per_member=False) for b in task.eval_batches()]
  else:
    arrays = streams.next()
    eval_batches = _GlobalBatches(run, task.eval_batches())
  # Every argument is committed to the devices the way the step's outputs are, so the second call reuses the first
  # call's executable (uncommitted arguments would compile the step twice).
  data_key, dropout_key, member = run.place((run.key('data'), run.key('dropout'), members))
  step_of = lambda s: run.place(np.int32(s), per_member=False)  # noqa: E731  (committed: one executable)
  shapes = jax.eval_shape(run.jit(one_step, member_axes=axes), state, arrays, data_key, dropout_key, member, step_of(0))
  shapes = shapes[1]
  zero_metrics = lambda: run.place(jax.tree_util.tree_map(lambda s: np.zeros(s.shape, s.dtype), shapes))  # noqa: E731

  # 4. The loop. Host syncs happen only at log/eval/checkpoint boundaries.
  metric_sums, since_log = zero_metrics(), 0
  for step in range(run.start_step + 1, num_steps + 1):
    if streams is not None and step > run.start_step + 1:
      arrays = streams.next()
    state, metric_sums = train_step(state, metric_sums, arrays, data_key, dropout_key, member, step_of(step - 1))
    since_log += 1
    if step == run.start_step + 1:
      run.first_step_done(step, state)
    is_last = step == num_steps
    if step % log_every == 0 or is_last:
      run.log(step, 'train', metric_sums, divide=since_log)
      metric_sums, since_log = zero_metrics(), 0
    if step % eval_every == 0 or is_last:
      run.log_rows(step, 'eval', run.evaluate(eval_step, state['params'], state['model_state'], eval_batches))
    if step % checkpoint_every == 0 or is_last:
      if streams is not None:
        run.meta['data'] = streams.states()  # the iterators' positions, saved with the state they belong to
      run.save(step, state)

  # 5. Final metrics (the eval split), curves, and every pending save flushed to disk.
  evals = run.evaluate(eval_step, state['params'], state['model_state'], eval_batches)
  if streams is not None:
    streams.close()
  return run.finish([{'step': num_steps, 'num_params': num_params, **e} for e in evals])


def _streaming(task) -> bool:
  """A streaming task (common/data/streaming_task.py) reads batches on the host; others keep arrays on device."""
  return hasattr(task, 'train_iterator')


class _GivenBatch:
  """A streaming task seen by make_train_step: the step's `arrays` argument is already the global batch."""

  def __init__(self, task):
    self.task = task

  def train_batch(self, arrays, key, step):
    return arrays

  def loss(self, outputs, batch):
    return self.task.loss(outputs, batch)


class _Iterators:
  """One streaming iterator per seed, positioned at the run's start step; next() -> the global batch."""

  def __init__(self, run, task):
    self.run = run
    self.its = [task.train_iterator(seed, start_step=run.start_step) for seed in run.seeds]
    for it, saved in zip(self.its, run.meta.get('data') or []):
      it.set_state(saved)  # the position saved with the checkpoint (equal to start_step; checks the stream too)

  def next(self):
    local = [next(it) for it in self.its]
    return self.run.global_batch(self.run.stack(local), per_member=self.run.vmapped)

  def states(self) -> list[dict]:
    return [it.get_state() for it in self.its]

  def close(self) -> None:
    for it in self.its:
      it.close()


class _GlobalBatches:
  """A streaming task's eval batches (each host's slice) assembled into global batches, re-read at every pass."""

  def __init__(self, run, batches):
    self.run, self.batches = run, batches

  def __iter__(self):
    for local in self.batches:
      yield self.run.global_batch(local)


def analyse_trained(finals, analyse: Callable, *, model, task, optimizer, num_steps: int, seed: int, workdir: str):
  """For entry points that train with `train` and then study the trained network (halting, generalisation to
  other sizes, pruning): every member's final state (restored from its last checkpoint: params and model state) is
  handed to `analyse(state, final, member_dir) -> (metrics, files)`; the metrics join the member's final metrics,
  each file ({name: JSON-able}) is written beside them and final_metrics.json is rewritten (process 0 only).

  finals: what `train` returned (one dict, or a list for a vmapped multi-seed run); returned in the same form.
  """
  tx = optimizer(num_steps)
  init = lambda k: state_lib.create_state(state_lib.init_variables(model, task.init_inputs(), k), tx)  # noqa: E731
  abstract = jax.eval_shape(init, jax.random.PRNGKey(0))  # shapes only: the values come from the checkpoint
  out = []
  for (_, member_dir), final in zip(engine.member_runs(seed, workdir), engine.as_list(finals)):
    metrics, files = analyse(restore_params(member_dir, abstract), final, member_dir)
    final = {**final, **metrics}
    if jax.process_index() == 0:
      for name, obj in files.items():
        engine.write_json(os.path.join(member_dir, name), obj)
      engine.write_json(os.path.join(member_dir, 'final_metrics.json'), final)
    out.append(final)
  return out if isinstance(finals, list) else out[0]
