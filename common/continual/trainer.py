"""The continual entry point: one model, one learner, a stream of tasks, evaluated on every task after each.

Same contract as common.train.loop.train: keyword arguments bound by gin plus `workdir` and `dry_run`, returns the
final metrics; a short loop on the run engine (common/train/engine.py), which owns keys, checkpoints, metrics, the
NaN stop, final artefacts and the vmapped seed axis. A run's life:

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
loop.make_eval_step through the engine.
"""

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from common.continual import metrics as cl_metrics
from common.continual import objective
from common.continual.learners import Learner
from common.continual.streams import TaskStream
from common.train import engine, loop
from common.train import state as state_lib
from common.train.errors import ConfigurationError


def make_continual_step(
  model, learner: Learner, tx, *, batch_size: int, steps_per_task: int, shard_batch=lambda b: b
) -> Callable:
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
    batch = shard_batch(learner.train_batch(arrays, state['learner'], data_key, step, task, batch_size))
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


def _chunk(step_fn):
  """run(state, sums, arrays, data_key, dropout_key, length) -> (state, sums): `length` steps in one lax.scan."""

  def run(state, sums, arrays, data_key, dropout_key, length):
    def body(carry, _):
      state, sums = carry
      state, m = step_fn(state, arrays, data_key, dropout_key)
      return (state, jax.tree_util.tree_map(jnp.add, sums, m)), None

    (state, sums), _ = jax.lax.scan(body, (state, sums), None, length=length)
    return state, sums

  return run


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
  xla_options: dict[str, Any] | None = None,
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
    xla_options: XLA compiler options for the compiled steps (common/train/xla_options.py).
  """
  num_tasks = stream.num_tasks
  if num_tasks < 1:
    raise ConfigurationError('train.stream has zero tasks; build it with num_tasks >= 1.')
  if steps_per_task < 1:
    raise ConfigurationError(f'train.steps_per_task={steps_per_task} must be at least 1.')
  engine.check_cadences('train', log_every=log_every, checkpoint_every=checkpoint_every)
  smallest = int(stream.train_counts.min())
  if not 1 <= batch_size <= smallest:
    raise ConfigurationError(
      f'train.batch_size={batch_size} must be between 1 and the {smallest} examples of the smallest task.'
    )
  learner.validate(stream)
  total_steps = num_tasks * steps_per_task
  run = engine.Run(
    seed=seed, workdir=workdir, dry_run=dry_run, total_steps=total_steps, keep_checkpoints=keep_checkpoints,
    xla_options=xla_options,
  )  # fmt: skip
  base_tx = optimizer(steps_per_task if reset_optimizer else total_steps)
  pre, post = learner.gradient_transformation(), learner.post_transformation()
  tx = optax.chain(*[t for t in (pre, base_tx, post) if t is not None])

  # 1. Model, learner state, optimizer state (shapes only for a dry run).
  init_inputs = stream.example_inputs(2)

  def build(params_key, learner_key):
    state = state_lib.create_state(state_lib.init_variables(model, init_inputs, params_key), tx)
    state['learner'] = learner.init(state['params'], stream, learner_key)
    state['acc'] = jnp.zeros((num_tasks, num_tasks), jnp.float32)
    state['baseline'] = jnp.zeros((num_tasks,), jnp.float32)
    return state

  if run.dry_run:
    abstract = run.build(lambda key: build(key, key))
    return run.dry_run_result(abstract, num_tasks=num_tasks)
  state = run.build(build, member_args=(run.key('learner'),))
  num_params = state_lib.count_params(run.members_of(state['params'])[0])

  eval_step = loop.make_eval_step(model, objective.MaskedClassification())

  def eval_set(task: int):
    # Decoded on the host one batch at a time and moved to the devices as it is evaluated: eval sets of image
    # datasets (10 permuted MNIST test sets: 313 MB as float32) never sit on the device.
    return (run.place(b, per_member=False) for b in stream.iter_eval_batches(task, eval_batch_size))

  def eval_all(state) -> np.ndarray:
    """(members, T) accuracy of every member on every task."""
    per_task = [run.evaluate(eval_step, state['params'], state['model_state'], eval_set(j)) for j in range(num_tasks)]
    return np.array([[per_task[j][i]['accuracy'] for j in range(num_tasks)] for i in range(len(run.seeds))])

  def set_members(state, name, rows: np.ndarray):
    value = rows if run.vmapped else rows[0]
    return {**state, name: run.place(jnp.asarray(value, jnp.float32))}

  # 2. Resume (or record the untrained model's accuracy on every task: the baseline of forward transfer).
  step0 = run.latest_step()
  state = run.resume(state)
  if step0 is None:
    state = set_members(state, 'baseline', eval_all(state))

  # 3. Compile once; the stream's pool, task rows and permutations live on the device (streams.py: one copy of the
  # base examples, stored images decoded inside the step).
  arrays = run.place(stream.train_arrays(), per_member=False)
  data_key, dropout_key, consolidate_key = run.place((run.key('data'), run.key('dropout'), run.key('consolidate')))
  step_fn = make_continual_step(
    model, learner, tx, batch_size=batch_size, steps_per_task=steps_per_task, shard_batch=run.shard_batch
  )
  run_chunk = run.jit(_chunk(step_fn), member_axes=(0, 0, None, 0, 0, None), static_argnums=(5,), donate_argnums=(0, 1))
  metric_shapes = jax.eval_shape(run.jit(step_fn, member_axes=(0, None, 0, 0)), state, arrays, data_key, dropout_key)[1]
  zeros = lambda: run.place(jax.tree_util.tree_map(lambda s: np.zeros(s.shape, s.dtype), metric_shapes))  # noqa: E731
  init_opt = run.jit(tx.init)

  def consolidate(learner_state, params, model_state, arrays, task, key):
    return learner.end_task(
      learner_state, model=model, params=params, model_state=model_state, arrays=arrays, task=task,
      key=jax.random.fold_in(key, task),
    )  # fmt: skip

  end_task = run.jit(consolidate, member_axes=(0, 0, 0, None, None, 0))
  # Learners without diagnostics skip the (tiny) compile.
  has_diagnostics = type(learner).diagnostics is not Learner.diagnostics
  diagnostics = run.jit(learner.diagnostics) if has_diagnostics else None

  step = run.start_step
  for task in range(step // steps_per_task, num_tasks):
    end = (task + 1) * steps_per_task
    if step == task * steps_per_task and reset_optimizer:
      state['opt_state'] = init_opt(state['params'])
    while step < end:
      length = min(log_every - step % log_every, end - step, checkpoint_every - step % checkpoint_every)
      state, sums = run_chunk(state, zeros(), arrays, data_key, dropout_key, length)
      if step == run.start_step:
        run.first_step_done(step + length, state)
      step += length
      if step % log_every == 0 or step == end:
        rows = run.log(step, 'train', sums, divide=length, show=None)
      else:
        rows = [{k: float(v) / length for k, v in m.items()} for m in run.members_of(sums)]
        run.check_finite(step, rows)
      if step % checkpoint_every == 0 and step < end:
        run.save(step, state)
    # Task boundary: consolidate (if the stream tells the learner), evaluate all tasks, checkpoint.
    if stream.has_boundaries:
      state['learner'] = end_task(
        state['learner'], state['params'], state['model_state'], arrays, np.int32(task), consolidate_key
      )
    accs = eval_all(state)  # (members, T)
    acc = np.array(jax.device_get(state['acc'])).reshape(len(run.seeds), num_tasks, num_tasks)
    acc[:, task] = accs
    state = set_members(state, 'acc', acc)
    diags = run.members_of(diagnostics(state['learner'])) if has_diagnostics else [{}] * len(run.seeds)
    rows = [
      {'task': task, 'avg_seen_accuracy': float(a[: task + 1].mean()), 'current_accuracy': float(a[task]), **d}
      for a, d in zip(accs, diags)
    ]
    run.log_rows(step, 'eval', rows, check=False)
    run.save(step, state)

  # 4. Final metrics and artefacts.
  acc = np.asarray(jax.device_get(state['acc'])).reshape(len(run.seeds), num_tasks, num_tasks)
  baseline = np.asarray(jax.device_get(state['baseline'])).reshape(len(run.seeds), num_tasks)
  # The learner's diagnostics after the last task (e.g. a few-shot probe's accuracy) are final metrics too.
  last = run.members_of(diagnostics(state['learner'])) if has_diagnostics else [{}] * len(run.seeds)
  finals = [
    {
      'step': total_steps,
      'num_params': num_params,
      **cl_metrics.continual_metrics(a, b),
      **{k: float(v) for k, v in d.items()},
      'final_accuracies': a[-1].tolist(),
    }
    for a, b, d in zip(acc, baseline, last)
  ]
  run.write_json('accuracy_matrix.json', [{'acc': a.tolist(), 'baseline': b.tolist()} for a, b in zip(acc, baseline)])
  if run.is_chief:
    for w, a, f in zip(run.workdirs, acc, finals):
      title = f'{learner.name}: ACC={f["acc"]:.3f} BWT={f["bwt"]:+.3f}'
      cl_metrics.plot_accuracy_matrix(a, f'{w}/accuracy_matrix.png', title)
  # Curves only: the per-task diagnostics stay in metrics.jsonl (one panel each made the figure ~25 panels wide and
  # its drawing the slowest part of a short run).
  diag_keys = tuple(jax.eval_shape(learner.diagnostics, run.members_of(state['learner'])[0])) if has_diagnostics else ()
  skip = ('task', 'total_loss', 'avg_seen_accuracy', 'current_accuracy', *diag_keys)
  return run.finish(finals, plot_skip=skip)
