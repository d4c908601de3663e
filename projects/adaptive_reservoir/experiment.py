"""The gin entry point of the adaptive-reservoir project: one reservoir, one task, one adaptation setting.

Same contract as common.train.loop.train: keyword arguments bound by gin plus `workdir` and `dry_run`; a short
loop on the run engine (common/train/engine.py) with one step: adapt the gains (if any), checkpoint the reservoir
(weights and adapted gains), score it on the task. A vmapped multi-seed run stacks every seed's reservoir, task
data and targets along the member axis and scores them as one program.
"""

from typing import Any

import jax
import jax.numpy as jnp

from common.homeostatic import reservoir, target_rate
from common.train import engine
from common.train import state as state_lib
from common.train.errors import ConfigurationError
from projects.adaptive_reservoir import tasks

ADAPTATIONS = ('none', 'homogeneous', 'heterogeneous')


def run(
  *,
  task: str,
  config: reservoir.ReservoirConfig,
  seed: int,
  workdir: str,
  dry_run: bool = False,
  adaptation: str = 'none',
  target: float = 0.3,
  target_spread: float = 0.5,
  adapt_rate: float = 0.05,
) -> dict[str, Any]:
  """Scores one reservoir on `task` ('memory_capacity', 'mackey_glass', 'narma10').

  Args:
    config: the reservoir (its inhibition_scale is the global E/I knob).
    adaptation: 'none' (global setting only), 'homogeneous' or 'heterogeneous' target rates.
    target: the target rate (median for heterogeneous targets); target_spread: log-std of heterogeneous targets.
    adapt_rate: eta of target_rate.adapt_gain.
  """
  if task not in tasks.TASKS:
    raise ConfigurationError(f'experiment.run.task={task!r} is unknown; choose one of {tasks.TASKS}.')
  if adaptation not in ADAPTATIONS:
    raise ConfigurationError(f'experiment.run.adaptation={adaptation!r} is unknown; choose one of {ADAPTATIONS}.')
  if not adapt_rate >= 0:
    raise ConfigurationError(f'experiment.run.adapt_rate={adapt_rate} must be >= 0.')
  run = engine.Run(seed=seed, workdir=workdir, dry_run=dry_run, total_steps=1, keep_checkpoints=1)
  if run.dry_run:
    tasks.make_task(task, seed)  # the task data are small: built here so their errors surface before the run
    if adaptation != 'none':
      target_rate.make_targets(config.size, target, adaptation, target_spread, seed=seed)
    weights = jax.eval_shape(lambda: reservoir.init_reservoir(config, 1, seed))
    print(state_lib.param_table(weights))
    return run.dry_run_result(weights)

  def member(s):
    targets = None if adaptation == 'none' else target_rate.make_targets(
      config.size, target, adaptation, target_spread, seed=s)  # fmt: skip
    return {
      'weights': reservoir.init_reservoir(config, 1, s),
      'gain': jnp.ones((config.size,), jnp.float32),
      'data': {k: jnp.asarray(v) for k, v in tasks.make_task(task, s).items()},
      'targets': jnp.zeros((config.size,), jnp.float32) if targets is None else jnp.asarray(targets, jnp.float32),
    }

  setup = run.place(run.stack([member(s) for s in run.seeds]))
  state = run.resume({'weights': setup['weights'], 'gain': setup['gain']})
  simulate = lambda w, u, **kw: reservoir.run(w, u, leak=config.leak, inhibition_scale=config.inhibition_scale, **kw)  # noqa: E731
  if run.start_step < 1:
    if adaptation != 'none':
      adapt = run.jit(lambda w, u, g, t: simulate(w, u, gain=g, targets=t, adapt_rate=adapt_rate)[1])
      state = {**state, 'gain': adapt(state['weights'], setup['data']['adapt_inputs'], state['gain'],
                                      setup['targets'])}  # fmt: skip
    run.first_step_done(1, state)
    run.save(1, state)

  def score(state, data):
    states, _ = simulate(state['weights'], data['inputs'], gain=state['gain'])
    return {
      'score': tasks.score(task, states, data['targets']),
      'mean_rate': jnp.mean(states[tasks.WASHOUT :]),
      'gain_mean': jnp.mean(state['gain']),
      'gain_std': jnp.std(state['gain']),
    }

  rows = [{k: float(v) for k, v in m.items()} for m in run.members_of(run.jit(score)(state, setup['data']))]
  finals = [{'step': 1, **r, 'metric_is_memory_capacity': float(task == 'memory_capacity')} for r in rows]
  run.log_rows(1, 'eval', finals)  # a non-finite rate or score stops the run here (exit 3)
  return run.finish(finals)
