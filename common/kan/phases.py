"""Multi-phase training for KANs: the same contract as common.train.loop.train, with a transition between phases.

`train_grid_extension` is the KAN paper's grid refinement: train on grid G_1, extend every KANDense grid to G_2
(coefficients refit by least squares, common.kan.grid.extend_grid), train again, ... and optionally update the
grids from the training inputs during the early steps of each phase (pykan's update_grid in fit()).

`run_phases` is the shared engine (S-KAN's select-and-prune schedule uses it too). Each phase builds a fresh
optimizer (the parameter shapes may change between phases, and pykan restarts its optimizer on refine too),
trains with common.train.loop's make_train_step / make_eval_step / evaluate, writes metrics through one
MetricWriter on a global step axis, and checkpoints under <workdir>/phase_<i>/checkpoints. A restarted run
restores each phase's checkpoint (finished phases are skipped, an interrupted phase resumes), and because every
transition is a deterministic function of the restored state, the resumed run matches the uninterrupted one.
"""

import dataclasses
import functools
import json
import os
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from common.kan import fast_init
from common.kan import grid as grid_lib
from common.train import loop
from common.train import state as state_lib
from common.train.checkpoint import Checkpointer
from common.train.errors import ConfigurationError
from common.train.metrics import MetricWriter
from common.train.plots import plot_curves
from common.train.progress import Progress


@dataclasses.dataclass
class Phase:
  """One training phase.

  model: the model trained in this phase.
  num_steps: optimizer steps in this phase.
  enter: (previous model, previous variables, this model, sample inputs) -> this phase's initial variables;
    None for the first phase (fresh init).
  during: optional (step_in_phase, model, variables, sample inputs) -> variables or None, called on the host
    after each step (grid updates); return None to leave the state alone.
  tag: suffix for this phase's final metrics (e.g. 'grid5').
  """

  model: Any
  num_steps: int
  enter: Callable | None = None
  during: Callable | None = None
  tag: str = ''


def _sample_inputs(task, key) -> jax.Array:
  arrays = task.train_arrays()
  if 'inputs' in arrays:
    return jnp.asarray(arrays['inputs'])
  return task.train_batch(arrays, key, 0)['inputs']


def run_phases(
  phases: Sequence[Phase],
  *,
  task,
  optimizer: Callable[[int], optax.GradientTransformation],
  seed: int,
  workdir: str,
  dry_run: bool = False,
  log_every: int = 100,
  eval_every: int = 500,
  checkpoint_every: int = 500,
  keep_checkpoints: int = 2,
) -> dict[str, Any]:
  """Trains the phases in order; returns the last phase's eval metrics plus '<metric>_<tag>' for every phase."""
  for name, value in (('log_every', log_every), ('eval_every', eval_every), ('checkpoint_every', checkpoint_every)):
    if value < 1:
      raise ConfigurationError(f'{name}={value} must be a positive number of steps.')
  root = jax.random.PRNGKey(seed)
  params_key, data_key, dropout_key = (jax.random.fold_in(root, i) for i in (0, 1, 2))

  if dry_run:
    out = {}
    for i, phase in enumerate(phases):
      variables = jax.eval_shape(
        functools.partial(state_lib.init_variables, phase.model, task.init_inputs()), params_key
      )
      print(f'phase {i} ({phase.tag or "-"}, {phase.num_steps} steps)')
      print(state_lib.param_table(variables['params']))
      out[f'num_params_{phase.tag or i}'] = state_lib.count_params(variables['params'])
    return out

  writer = MetricWriter(workdir)
  samples = _sample_inputs(task, data_key)
  eval_batches = [jax.device_put(b) for b in task.eval_batches()]
  arrays = jax.device_put(task.train_arrays())
  final: dict[str, Any] = {}
  prev_model, variables, offset, truncated = None, None, 0, False
  total_steps = sum(p.num_steps for p in phases)
  compiled: dict[Any, Any] = {}
  progress = Progress(total_steps, 0)
  for i, phase in enumerate(phases):
    if phase.num_steps < 1:
      raise ConfigurationError(f'phase {i} ({phase.tag}) has num_steps={phase.num_steps}; it must be at least 1.')
    model, tx = phase.model, optimizer(phase.num_steps)
    if phase.enter is None or variables is None:
      variables = fast_init.run_init(functools.partial(state_lib.init_variables, model), task.init_inputs(), params_key)
    else:
      variables = phase.enter(prev_model, variables, model, samples)
    state = state_lib.create_state(jax.tree_util.tree_map(jnp.asarray, variables), tx)
    ckpt = Checkpointer(os.path.join(workdir, f'phase_{i}'), keep=keep_checkpoints)
    if ckpt.latest_step() is not None:
      state = ckpt.restore(state)
    start = int(state['step'])
    if start < phase.num_steps and not truncated:  # the first phase with work left: drop rows logged past it
      writer.truncate_after(offset + start)
      truncated = True

    # Phases with the same model object (S-KAN's: only masks change) share the eval step, and the train step too
    # when their lengths (so their optimizer schedules) match: fewer compilations, same computation.
    if (id(model), phase.num_steps) not in compiled:
      one_step = loop.make_train_step(model, task, tx)
      compiled[id(model), phase.num_steps] = (one_step, jax.jit(loop.accumulating(one_step), donate_argnums=(0, 1)))
    if id(model) not in compiled:
      compiled[id(model)] = jax.jit(loop.make_eval_step(model, task))
    (one_step, train_step), eval_step = compiled[id(model), phase.num_steps], compiled[id(model)]
    shapes = jax.eval_shape(one_step, state, arrays, data_key, dropout_key)[1]
    zeros = functools.partial(jax.tree_util.tree_map, lambda s: jnp.zeros(s.shape, s.dtype), shapes)
    sums, since = zeros(), 0
    # Each phase draws its own data stream so phases do not replay the same batches.
    phase_data_key = jax.random.fold_in(data_key, i)
    for step in range(start + 1, phase.num_steps + 1):
      state, sums = train_step(state, sums, arrays, phase_data_key, dropout_key)
      since += 1
      if step == start + 1 and i == 0:
        jax.block_until_ready(state)
        progress.first_step_done(offset + step)
      last = step == phase.num_steps
      if phase.during is not None:
        current = {'params': state['params'], **state['model_state']}
        updated = phase.during(step, model, current, samples)
        if updated is not None:
          state = {**state, 'params': updated['params'], 'model_state': {k: updated[k] for k in state['model_state']}}
          state = jax.tree_util.tree_map(jnp.asarray, state)
      if step % log_every == 0 or last:
        means = {k: float(v) / since for k, v in jax.device_get(sums).items()}
        means['phase'] = i
        writer.write(offset + step, 'train', means)
        progress.update(offset + step, f'phase={i} loss={means["loss"]:.4g}')
        sums, since = zeros(), 0
      if step % eval_every == 0 or last:
        writer.write(offset + step, 'eval', {**loop.evaluate(eval_step, state, eval_batches), 'phase': i})
      if step % checkpoint_every == 0 or last:
        ckpt.save(step, state)
    metrics = loop.evaluate(eval_step, state, eval_batches)
    ckpt.wait()
    ckpt.close()
    tag = phase.tag or str(i)
    final.update({f'{k}_{tag}': v for k, v in metrics.items()})
    final[f'num_params_{tag}'] = state_lib.count_params(state['params'])
    prev_model, variables = model, {'params': state['params'], **state['model_state']}
    offset += phase.num_steps
  progress.close()
  final.update({'step': offset, **metrics, 'num_params': state_lib.count_params(state['params'])})
  writer.close()
  if jax.process_index() == 0:
    with open(os.path.join(workdir, 'final_metrics.json'), 'w') as f:
      json.dump(final, f, indent=2, default=lambda x: np.asarray(x).tolist())
    plot_curves(writer.jsonl_path, os.path.join(workdir, 'curves.png'))
  return final


def _extend(prev_model, variables, model, samples):
  return grid_lib.extend_grid(prev_model, model, variables, samples)


def _grid_updater(every: int, until: int, grid_eps: float):
  def during(step, model, variables, samples):
    if every and step % every == 0 and step <= until:
      return grid_lib.update_grid(model, variables, samples, grid_eps=grid_eps)
    return None

  return during


def train_grid_extension(
  *,
  model,
  task,
  optimizer: Callable[[int], optax.GradientTransformation],
  num_steps: int,
  seed: int,
  workdir: str,
  dry_run: bool = False,
  grid_sizes: Sequence[int] = (3, 5, 10, 20),
  grid_update_every: int = 0,
  grid_update_until: int = 0,
  grid_eps: float = 0.02,
  max_phases: int | None = None,
  log_every: int = 100,
  eval_every: int = 500,
  checkpoint_every: int = 500,
  keep_checkpoints: int = 2,
) -> dict[str, Any]:
  """Trains `model` (anything with a `grid_size` attribute, e.g. KAN) for `num_steps` steps PER GRID SIZE.

  Between phases every KANDense grid is extended to the next size (extend_grid). With grid_update_every > 0 the
  grids are also re-fitted to the training inputs every that many steps up to step grid_update_until of each
  phase (update_grid with grid_eps). Final metrics carry '<metric>_grid<G>' for every phase. max_phases (for
  smoke runs: the config binds it to the MAX_PHASES macro that configs/base/cpu_debug.gin sets) trains only the
  first that many grid sizes.
  """
  if not hasattr(model, 'grid_size'):
    raise ConfigurationError(f'train_grid_extension.model={type(model).__name__} has no grid_size attribute.')
  if not grid_sizes or any(b <= a for a, b in zip(grid_sizes, grid_sizes[1:])):
    raise ConfigurationError(f'train_grid_extension.grid_sizes={tuple(grid_sizes)} must be non-empty and increasing.')
  if num_steps < 1:
    raise ConfigurationError(f'train_grid_extension.num_steps={num_steps} must be at least 1.')
  if max_phases is not None:
    if max_phases < 1:
      raise ConfigurationError(f'train_grid_extension.max_phases={max_phases} must be at least 1 (or None for all).')
    grid_sizes = tuple(grid_sizes)[:max_phases]
  during = _grid_updater(grid_update_every, grid_update_until, grid_eps) if grid_update_every else None
  phases = [
    Phase(model.clone(grid_size=g), num_steps, enter=_extend if i else None, during=during, tag=f'grid{g}')
    for i, g in enumerate(grid_sizes)
  ]
  return run_phases(
    phases,
    task=task,
    optimizer=optimizer,
    seed=seed,
    workdir=workdir,
    dry_run=dry_run,
    log_every=log_every,
    eval_every=eval_every,
    checkpoint_every=checkpoint_every,
    keep_checkpoints=keep_checkpoints,
  )
