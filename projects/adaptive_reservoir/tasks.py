"""The three benchmarks of the adaptive-reservoir project and how a reservoir is scored on them.

Protocol for every task and reservoir: (1) adaptation phase: the reservoir is driven by `adapt_steps` samples of
the task's input distribution (an independent stretch) while its gains adapt (local adaptation only; the global
sweep has no adaptation); (2) the gains are frozen and the reservoir is driven from rest by the task sequence:
`washout` steps discarded, then train / validation / test stretches; (3) a ridge readout is fitted on train for
each ridge value of RIDGES, the one with the lowest validation error is kept, and the test score is reported.

Scores: 'memory_capacity' MC = sum over delays k = 1..max_delay of the squared correlation between the readout
and u(t - k) (Jaeger 2001; higher is better). 'mackey_glass' and 'narma10': NRMSE = RMSE / std(target) on test
(lower is better); Mackey-Glass predicts `horizon` steps ahead.
"""

import jax
import jax.numpy as jnp
import numpy as np

from common.data.synthetic import timeseries
from common.homeostatic import reservoir
from common.train.errors import ConfigurationError

TASKS = ('memory_capacity', 'mackey_glass', 'narma10')
HIGHER_IS_BETTER = {'memory_capacity': True, 'mackey_glass': False, 'narma10': False}
RIDGES = (1e-8, 1e-6, 1e-4, 1e-2)
WASHOUT, TRAIN, VALID, TEST = 200, 2000, 500, 1000


def make_task(name: str, seed: int, *, max_delay: int = 100, horizon: int = 17, adapt_steps: int = 2000):
  """Returns {'adapt_inputs': (A, 1), 'inputs': (T, 1), 'targets': (T, k)} for the named task (numpy)."""
  total = WASHOUT + TRAIN + VALID + TEST
  if name == 'memory_capacity':
    u = timeseries.uniform_input(total + max_delay + adapt_steps, seed=seed)
    adapt, u = u[:adapt_steps], u[adapt_steps:]
    targets = np.stack([u[max_delay - k : max_delay - k + total] for k in range(1, max_delay + 1)], axis=1)
    inputs = u[max_delay : max_delay + total]
  elif name == 'mackey_glass':
    x = timeseries.mackey_glass(total + horizon + adapt_steps, seed=seed)
    x = (x - 0.9) / 0.23 * 0.5  # centred, std about 0.5
    adapt, x = x[:adapt_steps], x[adapt_steps:]
    inputs, targets = x[:total], x[horizon : horizon + total, None]
  elif name == 'narma10':
    u, y = timeseries.narma10(total + adapt_steps, seed=seed)
    adapt, inputs, targets = u[:adapt_steps], u[adapt_steps:], y[adapt_steps:, None]
  else:
    raise ConfigurationError(f'task={name!r} is unknown; choose one of {TASKS}.')
  return {'adapt_inputs': adapt[:, None], 'inputs': inputs[:, None], 'targets': targets}


def score(name: str, states: jax.Array, targets: jax.Array) -> jax.Array:
  """Test score of the best-validation ridge readout. states (T, N) after rest start; targets (T, k)."""
  s, y = states[WASHOUT:], targets[WASHOUT:]
  tr, va = slice(0, TRAIN), slice(TRAIN, TRAIN + VALID)
  te = slice(TRAIN + VALID, TRAIN + VALID + TEST)

  def fit_eval(ridge):
    w = reservoir.ridge_fit(s[tr], y[tr], ridge)
    return jnp.mean((reservoir.ridge_predict(s[va], w) - y[va]) ** 2), w

  val_err, ws = jax.vmap(fit_eval)(jnp.asarray(RIDGES))
  w = ws[jnp.argmin(val_err)]
  pred, true = reservoir.ridge_predict(s[te], w), y[te]
  if name == 'memory_capacity':
    pc, tc = pred - pred.mean(0), true - true.mean(0)
    corr2 = jnp.sum(pc * tc, 0) ** 2 / (jnp.sum(pc**2, 0) * jnp.sum(tc**2, 0) + 1e-12)
    return jnp.sum(corr2)
  return jnp.sqrt(jnp.mean((pred - true) ** 2)) / jnp.std(true)


def evaluate(name, weights, task, cfg, *, inhibition_scale, targets=None, adapt_rate=0.0):
  """Adapt (if targets are given), freeze, drive, score. Returns (score, mean rate, gain mean, gain std)."""
  gain = jnp.ones((weights['w_exc'].shape[0],), jnp.float32)
  if targets is not None:
    _, gain = reservoir.run(
        weights, task['adapt_inputs'], leak=cfg.leak, inhibition_scale=inhibition_scale, gain=gain,
        targets=targets, adapt_rate=adapt_rate,
    )  # fmt: skip
  states, _ = reservoir.run(weights, task['inputs'], leak=cfg.leak, inhibition_scale=inhibition_scale, gain=gain)
  return score(name, states, task['targets']), jnp.mean(states[WASHOUT:]), jnp.mean(gain), jnp.std(gain)
