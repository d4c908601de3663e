"""Multi-phase training for KANs: the same contract as common.train.loop.train, with a transition between phases.

`train_grid_extension` is the KAN paper's grid refinement: train on grid G_1, extend every KANDense grid to G_2
(coefficients refit by least squares, common.kan.grid.extend_grid), train again, ... and optionally update the
grids from the training inputs during the early steps of each phase (pykan's update_grid in fit()).

`run_phases` is the phase schedule (S-KAN's select-and-prune schedule uses it too), a short loop on the run engine
(common/train/engine.py). Each phase builds a fresh optimizer (the parameter shapes may change between phases, and
pykan restarts its optimizer on refine too) and trains with common.train.loop's make_train_step / make_eval_step,
on one global step axis: metrics, checkpoints (<workdir>/checkpoints/<global step>) and the NaN stop are the
engine's. A checkpoint's JSON meta keeps the final metrics of the phases before it, so a restarted run restores the
phase it stopped in (its state shapes are that phase's) and continues; because every transition is a deterministic
function of the restored state, the resumed run matches the uninterrupted one. Host-side transitions (`enter`,
`during`: least-squares grid refits) run per seed of a vmapped multi-seed run, after a finiteness check, so a
diverged run stops with exit status 3 instead of failing inside numpy.
"""

import dataclasses
import functools
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from common.kan import fast_init
from common.kan import grid as grid_lib
from common.train import engine, loop
from common.train import state as state_lib
from common.train.errors import ConfigurationError


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


def _sample_inputs(task, arrays, key) -> np.ndarray:
  if 'inputs' in arrays:
    return np.asarray(arrays['inputs'])
  return np.asarray(task.train_batch(arrays, key, 0)['inputs'])


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
  xla_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
  """Trains the phases in order; returns the last phase's eval metrics plus '<metric>_<tag>' for every phase."""
  engine.check_cadences('run_phases', log_every=log_every, eval_every=eval_every, checkpoint_every=checkpoint_every)
  for i, phase in enumerate(phases):
    if phase.num_steps < 1:
      raise ConfigurationError(f'phase {i} ({phase.tag}) has num_steps={phase.num_steps}; it must be at least 1.')
  offsets = np.concatenate([[0], np.cumsum([p.num_steps for p in phases])]).astype(int)
  run = engine.Run(
    seed=seed, workdir=workdir, dry_run=dry_run, total_steps=int(offsets[-1]), keep_checkpoints=keep_checkpoints,
    xla_options=xla_options,
  )  # fmt: skip
  init = lambda model: functools.partial(state_lib.init_variables, model, task.init_inputs())  # noqa: E731

  if run.dry_run:
    out = {}
    for i, phase in enumerate(phases):
      print(f'phase {i} ({phase.tag or "-"}, {phase.num_steps} steps)')
      tx = optimizer(phase.num_steps)  # built (and its values checked) like every other part of the config
      abstract = run.build(lambda key, model=phase.model, tx=tx: state_lib.create_state(init(model)(key), tx))
      out[f'num_params_{phase.tag or i}'] = run.dry_run_result(abstract)['num_params']
    return out

  # The phase a restarted run continues in: the one its latest checkpoint belongs to (global steps
  # offsets[i] + 1 .. offsets[i + 1] are phase i's).
  latest = run.latest_step()
  first = 0 if latest is None else int(np.searchsorted(offsets[1:], latest))
  arrays = run.place(task.train_arrays(), per_member=False)
  eval_batches = [run.place(b, per_member=False) for b in task.eval_batches()]
  data_key, dropout_key = run.key('data'), run.key('dropout')
  samples = [_sample_inputs(task, task.train_arrays(), k) for k in run.members_of(data_key)]
  compiled: dict[Any, Any] = {}
  finals = [dict() for _ in run.seeds]
  prev_model, state = None, None
  for i, phase in enumerate(phases):
    if i < first:
      continue
    model, tx, tag = phase.model, optimizer(phase.num_steps), phase.tag or str(i)
    create = run.jit(lambda v, tx=tx: state_lib.create_state(jax.tree_util.tree_map(jnp.asarray, v), tx))
    if i == first and latest is not None:  # resume inside (or at the end of) this phase
      state = run.resume(create(run.build(init(model), compile_fn=fast_init.run_init)))
      finals = run.meta.get('phase_finals', finals)
    elif phase.enter is None or state is None:
      state = create(run.build(init(model), compile_fn=fast_init.run_init))
      if i == 0:
        run.resume(state)  # no checkpoint yet: opens the run's writers at step 0
    else:
      variables = run.members_of({'params': state['params'], **state['model_state']})
      entered = [phase.enter(prev_model, v, model, x) for v, x in zip(variables, samples)]
      state = create(run.place(run.stack([dict(v) for v in entered])))
    start = int(run.members_of(state['step'])[0])

    # Phases with the same model object (S-KAN's: only masks change) share the eval step, and the train step too
    # when their lengths (so their optimizer schedules) match: fewer compilations, same computation.
    if (id(model), phase.num_steps) not in compiled:
      one_step = loop.make_train_step(model, task, tx, None if run.vmapped else run.mesh)
      compiled[id(model), phase.num_steps] = (
        one_step,
        run.jit(loop.accumulating(one_step), member_axes=(0, 0, None, 0, 0), donate_argnums=(0, 1)),
      )
    if id(model) not in compiled:
      compiled[id(model)] = loop.make_eval_step(model, task)
    (one_step, train_step), eval_step = compiled[id(model), phase.num_steps], compiled[id(model)]
    # Each phase draws its own data stream so phases do not replay the same batches.
    phase_key = run.place(jax.vmap(jax.random.fold_in, (0, None))(data_key, i) if run.vmapped else
                          jax.random.fold_in(data_key, i))  # fmt: skip
    shapes = jax.eval_shape(run.jit(one_step, member_axes=(0, None, 0, 0)), state, arrays, phase_key, dropout_key)[1]
    zeros = lambda shapes=shapes: run.place(jax.tree_util.tree_map(lambda s: np.zeros(s.shape, s.dtype), shapes))  # noqa: E731
    sums, since = zeros(), 0
    for step in range(start + 1, phase.num_steps + 1):
      g = int(offsets[i]) + step
      state, sums = train_step(state, sums, arrays, phase_key, dropout_key)
      since += 1
      if step == start + 1 and i == first:
        run.first_step_done(g, state)
      last = step == phase.num_steps
      if phase.during is not None:
        run.check_params_finite(g, state['params'])
        current = run.members_of({'params': state['params'], **state['model_state']})
        updated = [phase.during(step, model, v, x) for v, x in zip(current, samples)]
        if any(u is not None for u in updated):
          updated = [dict(u) if u is not None else v for u, v in zip(updated, current)]
          merged = {'params': [u['params'] for u in updated], 'model_state': [
            {k: u[k] for k in state['model_state']} for u in updated]}  # fmt: skip
          new = run.place(run.stack([{'params': p, 'model_state': m} for p, m in zip(*merged.values())]))
          state = {**state, **new}
      if step % log_every == 0 or last:
        rows = [{**{k: float(v) / since for k, v in r.items()}, 'phase': i} for r in run.members_of(sums)]
        run.log_rows(g, 'train', rows)
        sums, since = zeros(), 0
      if step % eval_every == 0 or last:
        evals = run.evaluate(eval_step, state['params'], state['model_state'], eval_batches)
        run.log_rows(g, 'eval', [{**e, 'phase': i} for e in evals], check=False)
      if step % checkpoint_every == 0 or last:
        run.meta = {'phase_finals': finals}
        run.save(g, state)
    evals = run.evaluate(eval_step, state['params'], state['model_state'], eval_batches)
    num_params = state_lib.count_params(run.members_of(state['params'])[0])
    for f, e in zip(finals, evals):
      f.update({f'{k}_{tag}': v for k, v in e.items()})
      f[f'num_params_{tag}'] = num_params
    prev_model = model
  last_evals = run.evaluate(eval_step, state['params'], state['model_state'], eval_batches)
  return run.finish(
    [{**f, 'step': int(offsets[-1]), **e, 'num_params': num_params} for f, e in zip(finals, last_evals)],
    plot_skip=('phase',),
  )


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
