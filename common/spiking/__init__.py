"""Spiking building blocks: surrogate-gradient spikes, LIF neurons over time, Poisson encoding.

Stable API (time is axis 1 everywhere, inputs are (B, T, ...)):
  spike(x, surrogate='fast_sigmoid', slope=25.0)   Heaviside forward, surrogate derivative backward
  lif_scan(currents, *, beta, threshold=1.0, reset='subtract', ...) -> LIFOutput(spikes, voltages, final_voltage)
  LIF(tau=10.0, learn_tau=False, ...)              Flax module: currents (B, T, N) -> spikes (B, T, N)
  beta_from_tau(tau)                                exp(-1/tau)
  poisson_encode(key, intensities, num_steps, max_prob=1.0) -> (B, T, ...)
  rate_decode(spikes) -> (B, ...)
"""

from common.spiking.encoding import poisson_encode, rate_decode
from common.spiking.lif import LIF, LIFOutput, beta_from_tau, lif_scan, lif_step
from common.spiking.surrogate import SURROGATES, spike, surrogate_grad

__all__ = [
  'LIF',
  'LIFOutput',
  'SURROGATES',
  'beta_from_tau',
  'lif_scan',
  'lif_step',
  'poisson_encode',
  'rate_decode',
  'spike',
  'surrogate_grad',
]
