"""Reservoir-computing benchmark series (numpy, seeded): memory-capacity input, Mackey-Glass, NARMA-10.

All return float32 arrays; a series is a pure function of its arguments.
"""

import numpy as np

from common.train.errors import ConfigurationError


def uniform_input(length: int, *, seed: int = 0, scale: float = 0.5) -> np.ndarray:
  """i.i.d. U(-scale, scale) input of shape (length,): the memory-capacity drive (Jaeger 2001)."""
  return np.random.default_rng(seed).uniform(-scale, scale, length).astype(np.float32)


def mackey_glass(
  length: int,
  *,
  tau: float = 17.0,
  beta: float = 0.2,
  gamma: float = 0.1,
  n: float = 10.0,
  dt: float = 0.1,
  subsample: int = 10,
  washout: int = 1000,
  seed: int = 0,
) -> np.ndarray:
  """Mackey-Glass series dx/dt = beta x(t - tau) / (1 + x(t - tau)^n) - gamma x(t), Euler steps of dt, one sample
  every `subsample` steps (so one sample per unit time by default), after `washout` samples. Shape (length,).
  The initial history is 1.2 plus small seeded noise, so seeds give different stretches of the attractor."""
  if not (tau > 0 and dt > 0 and subsample >= 1):
    raise ConfigurationError(f'mackey_glass: tau={tau}, dt={dt} must be positive and subsample={subsample} >= 1.')
  rng = np.random.default_rng(seed)
  delay = int(round(tau / dt))
  total = (length + washout) * subsample
  x = np.empty(total + delay)
  x[: delay + 1] = 1.2 + 0.01 * rng.standard_normal(delay + 1)
  for t in range(delay, total + delay - 1):
    lagged = x[t - delay]
    x[t + 1] = x[t] + dt * (beta * lagged / (1.0 + lagged**n) - gamma * x[t])
  return x[delay::subsample][washout : washout + length].astype(np.float32)


def narma10(length: int, *, seed: int = 0, washout: int = 200) -> tuple[np.ndarray, np.ndarray]:
  """NARMA-10: input u ~ U(0, 0.5) and target y(t+1) = 0.3 y(t) + 0.05 y(t) sum_{i<10} y(t-i) + 1.5 u(t-9) u(t)
  + 0.1. Returns (u, y), each of shape (length,), after `washout` steps."""
  rng = np.random.default_rng(seed)
  total = length + washout
  u = rng.uniform(0.0, 0.5, total)
  y = np.zeros(total)
  for t in range(9, total - 1):
    y[t + 1] = 0.3 * y[t] + 0.05 * y[t] * np.sum(y[t - 9 : t + 1]) + 1.5 * u[t - 9] * u[t] + 0.1
  return u[washout:].astype(np.float32), y[washout:].astype(np.float32)
