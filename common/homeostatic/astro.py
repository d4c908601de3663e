"""Astrocyte-modulated STDP (the neuron-astrocyte liquid state machine, NALSM; Ivanov & Michmizos, NeurIPS 2021).

Pure update rules for one network (vmap them for a batch of networks). The synapses onto the N reservoir neurons come
from all M = N + D neurons (reservoir first, then the D input neurons) and are stored by postsynaptic neuron: (N, K)
slots holding a weight and the presynaptic index (lif_reservoir.py); W_ij below is the slot of i whose pre is j.

STDP with pair traces (one trace per neuron, x <- k (a s + x), k = exp(-1/tau_stdp), a = 0.1, tau_stdp = 10):

  dW_ij = lr_pre(j) * x_j * s_i  +  lr_post(j) * x_i * s_j        (i post, j pre; s this step, x the traces before it)
  excitatory or input j:  lr_pre = +eta (potentiation, pre before post),  lr_post = -A (depression, post before pre)
  inhibitory j:           lr_pre = -A,                                    lr_post = +eta   (the rule mirrored)
  W <- clip(W + dW, lo_j, hi_j) * mask      (E: [0, w_max], I: [-w_max, 0], input: [-w_max, w_max])

A is the depression rate. Plain STDP (LSM+STDP) fixes A = eta. In the NALSM A is the astrocyte's state, a leaky
integrator of the network's spikes:

  A <- A + (w_A * (sum of reservoir spikes - sum of input spikes) + b_A - A) / tau_A,   b_A = eta (1 + offset)

so when the reservoir fires more than its input drives it (a branching factor above 1) depression grows, and when
it fires less, depression shrinks below eta and potentiation wins: a global feedback that holds the dynamics near the
critical branching factor of 1. Every rate may decay by a factor per step (`rate_decay`; the authors use 0.99 while
a sample is presented to the trained liquid and 1 in the unsupervised initialisation).

Faithful to the authors' TensorFlow release (github.com/combra-lab/NALSM, NALSM_STDP.py / NALSM_ASTRO.py, read, not
copied): the order (STDP with the old traces and the old A, then the traces, then the astrocyte), the signs, the
clipping by presynaptic type and the defaults (eta = 0.15, a = 0.1, tau_stdp = 10, tau_A = 100, w_A = 0.015 for a
1000-neuron liquid). Their trace decay is a grid-searched factor with k^10 ~ 1/e (0.905); we use exp(-1/10).
"""

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp

from common.train.errors import ConfigurationError

MODES = ('none', 'stdp', 'astro')


@dataclasses.dataclass(frozen=True)
class PlasticityConfig:
  """How the reservoir synapses learn (validated at construction).

  Attributes:
    mode: 'none' (a static LSM), 'stdp' (depression rate fixed at ltp_rate) or 'astro' (the NALSM).
    ltp_rate: eta, the potentiation rate (and the astrocyte's initial and resting value).
    trace_amplitude: a, the trace increment per spike. stdp_tau: the trace time constant (steps).
    astro_tau, astro_weight, astro_bias_offset: tau_A, w_A and the offset of b_A = eta (1 + offset).
    rate_decay: factor applied to eta, A, w_A and b_A after every step (1 = no decay).
  """

  mode: str = 'astro'
  ltp_rate: float = 0.15
  trace_amplitude: float = 0.1
  stdp_tau: float = 10.0
  astro_tau: float = 100.0
  astro_weight: float = 0.015
  astro_bias_offset: float = 0.0
  rate_decay: float = 1.0

  def __post_init__(self):
    if self.mode not in MODES:
      raise ConfigurationError(f'PlasticityConfig.mode={self.mode!r} must be one of {MODES}.')
    for name in ('ltp_rate', 'trace_amplitude', 'stdp_tau', 'astro_tau'):
      if not getattr(self, name) > 0:
        raise ConfigurationError(f'PlasticityConfig.{name}={getattr(self, name)} must be positive.')
    if not 0 < self.rate_decay <= 1:
      raise ConfigurationError(f'PlasticityConfig.rate_decay={self.rate_decay} must be in (0, 1].')


class Rates(NamedTuple):
  """The plasticity rates of one network, all scalars: eta, the astrocyte state A, w_A and b_A."""

  ltp: jax.Array
  astro: jax.Array
  astro_weight: jax.Array
  astro_bias: jax.Array


def initial_rates(cfg: PlasticityConfig) -> Rates:
  """Rates at the start of a sample: A = eta, b_A = eta (1 + offset)."""
  f = jnp.float32
  return Rates(f(cfg.ltp_rate), f(cfg.ltp_rate), f(cfg.astro_weight), f(cfg.ltp_rate * (1.0 + cfg.astro_bias_offset)))


def trace_update(trace: jax.Array, spikes: jax.Array, amplitude: float, decay: float | jax.Array) -> jax.Array:
  """x <- decay * (amplitude * s + x). Shapes (M,)."""
  return decay * (amplitude * spikes + trace)


def stdp_update(
  weights: jax.Array,
  valid: jax.Array,
  spikes_post: jax.Array,
  trace_post: jax.Array,
  spikes_pre: jax.Array,
  trace_pre: jax.Array,
  inhibitory_pre: jax.Array,
  lo: jax.Array,
  hi: jax.Array,
  ltp_rate: jax.Array | float,
  ltd_rate: jax.Array | float,
) -> jax.Array:
  """One STDP step (module docstring) on synapses stored by postsynaptic neuron.

  Args:
    weights, valid, lo, hi: (N, K) synapse slots of the N reservoir neurons: weight, 1 for a real synapse (0 for
      padding), and the weight bounds of the presynaptic type.
    spikes_post, trace_post: (N,) the reservoir's spikes this step and its traces from before this step.
    spikes_pre, trace_pre, inhibitory_pre: (N, K) the same of each slot's presynaptic neuron (gathered with the
      slots' presynaptic indices: spikes[pre], trace[pre], inhibitory[pre]) and its type (bool).
    ltp_rate: eta. ltd_rate: the depression rate (A for the NALSM, eta for plain STDP).

  Returns:
    the new (N, K) weights (0 in padding slots).
  """
  lr_pre = jnp.where(inhibitory_pre, -ltd_rate, ltp_rate)  # on pre-trace x post-spike
  lr_post = jnp.where(inhibitory_pre, ltp_rate, -ltd_rate)  # on post-trace x pre-spike
  delta = spikes_post[:, None] * lr_pre * trace_pre + trace_post[:, None] * lr_post * spikes_pre
  return jnp.clip(weights + delta, lo, hi) * valid


def astro_update(
  astro: jax.Array, reservoir_spikes: jax.Array, input_spikes: jax.Array, weight, bias, tau: float
) -> jax.Array:
  """A <- A + (w_A (sum reservoir spikes - sum input spikes) + b_A - A) / tau_A (scalars in, scalar out)."""
  drive = weight * (jnp.sum(reservoir_spikes) - jnp.sum(input_spikes)) + bias
  return astro + (drive - astro) / tau


def decay_rates(rates: Rates, factor: float) -> Rates:
  """Every rate times `factor` (the authors' per-step learning-rate decay; a no-op at 1)."""
  if factor == 1.0:
    return rates
  return Rates(*(r * factor for r in rates))


def ltd_rate(cfg: PlasticityConfig, rates: Rates) -> jax.Array:
  """The depression rate of the mode: A for 'astro', eta for 'stdp'."""
  return rates.astro if cfg.mode == 'astro' else rates.ltp
