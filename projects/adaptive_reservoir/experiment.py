"""The gin entry point of the adaptive-reservoir project: one reservoir, one task, one adaptation setting.

Same contract as common.train.loop.train: keyword arguments bound by gin plus `workdir` and `dry_run`; writes
its metrics through MetricWriter, saves the reservoir (weights and adapted gains) through Checkpointer, and
returns the final metrics. The multi-seed tables come from run_results.py, which vmaps tasks.evaluate.
"""

import json
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from common.homeostatic import reservoir, target_rate
from common.train import state as state_lib
from common.train.checkpoint import Checkpointer
from common.train.errors import ConfigurationError, TrainingDiverged
from common.train.metrics import MetricWriter
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
  targets = None
  if adaptation != 'none':
    targets = target_rate.make_targets(config.size, target, adaptation, target_spread, seed=seed)
  if dry_run:
    weights = jax.eval_shape(lambda: reservoir.init_reservoir(config, 1, seed))
    print(state_lib.param_table(weights))
    return {'num_params': state_lib.count_params(weights)}
  weights = reservoir.init_reservoir(config, 1, seed)
  data = {k: jnp.asarray(v) for k, v in tasks.make_task(task, seed).items()}
  gain = jnp.ones((config.size,), jnp.float32)
  if targets is not None:
    _, gain = jax.jit(
        lambda w, u, g: reservoir.run(
            w, u, leak=config.leak, inhibition_scale=config.inhibition_scale, gain=g, targets=targets,
            adapt_rate=adapt_rate,
        )
    )(weights, data['adapt_inputs'], gain)  # fmt: skip
  states, _ = jax.jit(
    lambda w, u, g: reservoir.run(w, u, leak=config.leak, inhibition_scale=config.inhibition_scale, gain=g)
  )(weights, data['inputs'], gain)
  if not bool(jnp.all(jnp.isfinite(states))):
    raise TrainingDiverged('reservoir rates became non-finite; lower spectral_radius or input_scale.')
  score = float(jax.jit(lambda s, y: tasks.score(task, s, y))(states, data['targets']))
  final = {
    'score': score,
    'metric_is_memory_capacity': float(task == 'memory_capacity'),
    'mean_rate': float(jnp.mean(states[tasks.WASHOUT :])),
    'gain_mean': float(jnp.mean(gain)),
    'gain_std': float(jnp.std(gain)),
  }
  writer = MetricWriter(workdir)
  writer.write(0, 'eval', final)
  writer.close()
  ckpt = Checkpointer(workdir, keep=1)
  ckpt.save(0, {'weights': weights, 'gain': gain})
  ckpt.wait()
  ckpt.close()
  if jax.process_index() == 0:
    with open(os.path.join(workdir, 'final_metrics.json'), 'w') as f:
      json.dump(final, f, indent=2, default=lambda x: np.asarray(x).tolist())
  return final
