"""Leaky integrate-and-fire neurons run over time with lax.scan.

Discrete-time LIF (the form snnTorch and most surrogate-gradient work use, dt = 1 step):

  v_t = beta * v_{t-1} + I_t                 beta = exp(-1 / tau), tau in steps
  s_t = spike(v_t - threshold)               Heaviside forward, surrogate gradient backward
  v_t <- v_t - s_t * threshold   ('subtract')   or   v_t * (1 - s_t)   ('zero')   or unchanged ('none')

The reset term is detached from the gradient by default (`detach_reset=True`), as in Zenke & Vogels 2021:
it keeps the surrogate gradient from flowing through the reset, which is more stable.

Layout: time is axis 1, i.e. inputs are (B, T, ...features). `lif_scan` is the functional core;
`LIF` wraps it as a Flax module with an optional learnable per-neuron time constant.
"""

import math
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from common.spiking.surrogate import check_surrogate, spike
from common.train.errors import ConfigurationError

RESETS = ('subtract', 'zero', 'none')


class LIFOutput(NamedTuple):
  spikes: jax.Array  # (B, T, ...) in {0, 1}
  voltages: jax.Array  # (B, T, ...) membrane potential after reset
  final_voltage: jax.Array  # (B, ...)


def check_lif(*, tau=None, threshold: float = 1.0, reset: str = 'subtract') -> None:
  """Validates LIF hyperparameters (tau may be None when beta is given directly)."""
  if tau is not None and not float(np.min(np.asarray(tau))) > 0:
    raise ConfigurationError(f'tau={tau} must be positive (membrane time constant in steps).')
  if not threshold > 0:
    raise ConfigurationError(f'threshold={threshold} must be positive.')
  if reset not in RESETS:
    raise ConfigurationError(f'reset={reset!r} is unknown; choose one of {RESETS}.')


def beta_from_tau(tau) -> jax.Array:
  """Per-step decay factor exp(-1/tau) for a time constant tau in steps."""
  return jnp.exp(-1.0 / jnp.asarray(tau, jnp.float32))


def lif_step(
  v, current, *, beta, threshold=1.0, reset='subtract', detach_reset=True, surrogate='fast_sigmoid', slope=25.0
):
  """One LIF update. Returns (new voltage after reset, spikes). Shapes broadcast (beta may be per neuron)."""
  v = beta * v + current
  s = spike(v - threshold, surrogate, slope)
  r = jax.lax.stop_gradient(s) if detach_reset else s
  if reset == 'subtract':
    v = v - r * threshold
  elif reset == 'zero':
    v = v * (1.0 - r)
  return v, s


def lif_scan(
  currents: jax.Array,
  *,
  beta,
  threshold: float = 1.0,
  reset: str = 'subtract',
  detach_reset: bool = True,
  surrogate: str = 'fast_sigmoid',
  slope: float = 25.0,
  v0: jax.Array | None = None,
  unroll: int = 1,
) -> LIFOutput:
  """Runs LIF neurons over the time axis (axis 1) of `currents` (B, T, ...) with lax.scan.

  Args:
    currents: input currents (B, T, ...).
    beta: decay per step, a scalar or an array broadcastable to currents.shape[2:] (or [0] + [2:]).
    threshold, reset, detach_reset, surrogate, slope: see the module docstring.
    v0: initial voltage (B, ...); zeros by default.
    unroll: lax.scan unroll factor.
  Returns:
    LIFOutput(spikes (B, T, ...), voltages (B, T, ...), final_voltage (B, ...)).
  """
  check_lif(threshold=threshold, reset=reset)
  check_surrogate(surrogate, slope)
  if currents.ndim < 2:
    raise ConfigurationError(f'currents must be (B, T, ...) with time on axis 1; got shape {currents.shape}.')
  x = jnp.moveaxis(currents, 1, 0)
  if v0 is None:
    v0 = jnp.zeros(x.shape[1:], currents.dtype)

  def body(v, i):
    v, s = lif_step(
      v, i, beta=beta, threshold=threshold, reset=reset, detach_reset=detach_reset, surrogate=surrogate, slope=slope
    )
    return v, (s, v)

  v_final, (s, v) = jax.lax.scan(body, v0, x, unroll=unroll)
  return LIFOutput(jnp.moveaxis(s, 0, 1), jnp.moveaxis(v, 0, 1), v_final)


class LIF(nn.Module):
  """LIF neurons applied along time: currents (B, T, N) -> spikes (B, T, N).

  Attributes:
    tau: membrane time constant in steps (initial value when `learn_tau`).
    learn_tau: learn one time constant per neuron (parameterised as log(tau - 1) + 1 so tau stays above 1).
    threshold, reset, detach_reset, surrogate, slope: see the module docstring.
    return_voltage: when True, __call__ returns (spikes, voltages).
  """

  tau: float = 10.0
  learn_tau: bool = False
  threshold: float = 1.0
  reset: str = 'subtract'
  detach_reset: bool = True
  surrogate: str = 'fast_sigmoid'
  slope: float = 25.0
  return_voltage: bool = False

  def setup(self):
    check_lif(tau=self.tau, threshold=self.threshold, reset=self.reset)
    check_surrogate(self.surrogate, self.slope)
    if self.learn_tau and not self.tau > 1:
      raise ConfigurationError(f'tau={self.tau} must exceed 1 step when learn_tau=True.')

  @nn.compact
  def __call__(self, currents: jax.Array, train: bool = False):
    if self.learn_tau:
      n = currents.shape[-1]
      init = math.log(self.tau - 1.0)
      log_tau = self.param('log_tau_minus_1', nn.initializers.constant(init), (n,), jnp.float32)
      tau = 1.0 + jnp.exp(log_tau)
    else:
      tau = self.tau
    out = lif_scan(
      currents,
      beta=beta_from_tau(tau),
      threshold=self.threshold,
      reset=self.reset,
      detach_reset=self.detach_reset,
      surrogate=self.surrogate,
      slope=self.slope,
    )
    return (out.spikes, out.voltages) if self.return_voltage else out.spikes
