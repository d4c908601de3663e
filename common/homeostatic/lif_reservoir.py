"""A liquid state machine: a 3-D grid of current-based LIF neurons with sparse E/I wiring, run with lax.scan.

Network (Maass et al. 2002 wiring, the NALSM release's defaults; build_network, numpy, seeded):
  N reservoir neurons on a grid (10 x 10 x 10 = 1000), 80 % excitatory, assigned to grid points at random. A synapse
  pre -> post exists with probability C[type(post), type(pre)] * exp(-(d / lambda)^2) (d the grid distance,
  lambda = 3; C_EE 0.2, C_E->I 0.1, C_I->E 0.3, C_II 0.05; no self-synapses). D input neurons (one per pixel) project
  to int(N * D * input_density) random reservoir targets (density 0.15) with random sign. Every weight starts at
  the magnitude `initial_weight` with its presynaptic sign (E +, I -, input +/-).
  Storage: the synapses onto each reservoir neuron i in K slots (K = the largest in-degree, about 2.5 % of M for the
  default liquid): weights (N, K), presynaptic index pre (N, K) into the M = N + D neurons (reservoir first, then
  inputs), valid (N, K) 1 for a real synapse. Every step then touches ~N K numbers instead of the N M of a dense
  matrix (a 40x saving at 1000 neurons), which is what makes per-example plasticity affordable. `to_dense` gives
  the (N, M) post x pre matrix.

Dynamics, one step (1 ms) for every neuron, in the authors' order (NALSM_LIF_v1.py, read, not copied):
  s    = [v >= threshold] and not refractory          spikes from the previous update
  v   <- v (1 - s)                                    reset to 0
  u   <- s + (1 - s) exp(-1 / tau_syn) u              synaptic kernel of each neuron's last spike (1 at the spike)
  v   <- v + sum_k W_ik u_pre(ik) / tau_syn  (reservoir)  +  I_in e (inputs)  + b - v / tau_v   e: input events
  ref <- t_ref if s else max(ref - 1, 0)
followed, when plastic, by STDP, the trace update and the astrocyte (common.homeostatic.astro). The kernel u is the
authors' exp(-(t - t_last) / tau_syn) written as a recursion (it restarts at each spike, it does not add up).

Input neurons are LIF units too: a Poisson event gives them input_current (100) >> threshold (20), so they fire on
the next step unless refractory. `input_probabilities` turns intensities into per-step event probabilities.

Measurements: `branching_factor` (the authors' estimator) and `spike_count_features` (the read-out's input).
Everything here is pure and jittable for one network; vmap over examples for a batch.
"""

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from common.homeostatic import astro
from common.train.errors import ConfigurationError


@dataclasses.dataclass(frozen=True)
class LSMConfig:
  """Reservoir hyperparameters (defaults: the NALSM release's 1000-neuron MNIST liquid).

  Attributes:
    grid: reservoir grid (x, y, z); N = x * y * z. excitatory_fraction: share of excitatory neurons.
    connection_scale: (C_EE, C_E->I, C_I->E, C_II), the peak connection probabilities.
    wiring_length: lambda of exp(-(d / lambda)^2), in grid units. input_density: fraction of all input x reservoir
      pairs that are connected.
    initial_weight: |w| of every synapse at construction. max_weight: w_max, the STDP bound.
    tau_v, tau_syn: membrane and synaptic time constants (steps). threshold, bias: LIF threshold and constant drive.
    refractory: refractory period in steps. input_current: the current of one input event.
  """

  grid: tuple = (10, 10, 10)
  excitatory_fraction: float = 0.8
  connection_scale: tuple = (0.2, 0.1, 0.3, 0.05)
  wiring_length: float = 3.0
  input_density: float = 0.15
  initial_weight: float = 3.0
  max_weight: float = 3.0
  tau_v: float = 64.0
  tau_syn: float = 1.0
  threshold: float = 20.0
  bias: float = 0.0
  refractory: int = 2
  input_current: float = 100.0

  def __post_init__(self):
    object.__setattr__(self, 'grid', tuple(int(g) for g in self.grid))  # hashable (gin may pass lists)
    object.__setattr__(self, 'connection_scale', tuple(float(c) for c in self.connection_scale))
    if len(self.grid) != 3 or min(self.grid) < 1:
      raise ConfigurationError(f'LSMConfig.grid={tuple(self.grid)} must be three positive sizes (x, y, z).')
    if not 0 < self.excitatory_fraction < 1:
      raise ConfigurationError(f'LSMConfig.excitatory_fraction={self.excitatory_fraction} must be in (0, 1).')
    if len(self.connection_scale) != 4 or not all(0 <= c <= 1 for c in self.connection_scale):
      raise ConfigurationError(
        f'LSMConfig.connection_scale={tuple(self.connection_scale)} must be four probabilities (EE, EI, IE, II).'
      )
    if not 0 < self.input_density <= 1:
      raise ConfigurationError(f'LSMConfig.input_density={self.input_density} must be in (0, 1].')
    if not 0 <= self.initial_weight <= self.max_weight:
      raise ConfigurationError(
        f'LSMConfig.initial_weight={self.initial_weight} must lie in [0, max_weight={self.max_weight}].'
      )
    for name in ('wiring_length', 'tau_v', 'tau_syn', 'threshold', 'input_current'):
      if not getattr(self, name) > 0:
        raise ConfigurationError(f'LSMConfig.{name}={getattr(self, name)} must be positive.')
    if self.refractory < 0:
      raise ConfigurationError(f'LSMConfig.refractory={self.refractory} must be >= 0 steps.')

  @property
  def size(self) -> int:
    return int(np.prod(self.grid))


def build_network(cfg: LSMConfig, input_dim: int, seed: int) -> dict[str, np.ndarray]:
  """The wiring (numpy, a pure function of (cfg, input_dim, seed)).

  Returns the synapse slots (N, K): float32 'weights', int32 'pre', float32 'valid', 'lo', 'hi' (STDP bounds of the
  presynaptic type); per neuron (M,): 'inhibitory' and 'is_input' (bool); 'coords' (N, 3).
  """
  if input_dim < 1:
    raise ConfigurationError(f'input_dim={input_dim} must be at least 1 (one input neuron per input feature).')
  rng = np.random.default_rng(seed)
  n = cfg.size
  n_exc = int(round(n * cfg.excitatory_fraction))
  grid = np.stack(np.meshgrid(*[np.arange(g) for g in cfg.grid], indexing='ij'), -1).reshape(-1, 3)
  coords = grid[rng.permutation(n)].astype(np.float32)
  dist = np.sqrt(((coords[:, None, :] - coords[None, :, :]) ** 2).sum(-1))
  exc = np.arange(n) < n_exc
  c_ee, c_ei, c_ie, c_ii = cfg.connection_scale
  scale = np.where(exc[:, None], np.where(exc[None, :], c_ee, c_ie), np.where(exc[None, :], c_ei, c_ii))
  rec = rng.random((n, n)) < scale * np.exp(-((dist / cfg.wiring_length) ** 2))
  np.fill_diagonal(rec, False)
  inp = np.zeros(n * input_dim, bool)
  inp[rng.permutation(n * input_dim)[: int(n * input_dim * cfg.input_density)]] = True
  inp = inp.reshape(n, input_dim)
  mask = np.concatenate([rec, inp], axis=1)
  sign = np.concatenate([np.where(exc, 1.0, -1.0)[None, :].repeat(n, 0), rng.choice([-1.0, 1.0], (n, input_dim))], 1)
  inhibitory = np.concatenate([~exc, np.zeros(input_dim, bool)])
  is_input = np.concatenate([np.zeros(n, bool), np.ones(input_dim, bool)])
  w_max = cfg.max_weight
  lo = np.where(inhibitory | is_input, -w_max, 0.0).astype(np.float32)
  hi = np.where(inhibitory, 0.0, w_max).astype(np.float32)
  dense = mask * sign * cfg.initial_weight
  k = int(mask.sum(1).max())
  pre = np.zeros((n, k), np.int32)
  valid = np.zeros((n, k), np.float32)
  for i in range(n):
    idx = np.nonzero(mask[i])[0]
    pre[i, : len(idx)], valid[i, : len(idx)] = idx, 1.0
  return {
    'weights': (np.take_along_axis(dense, pre, 1) * valid).astype(np.float32),
    'pre': pre,
    'valid': valid,
    'lo': lo[pre] * valid,
    'hi': hi[pre] * valid,
    'inhibitory': inhibitory,
    'is_input': is_input,
    'coords': coords,
  }


def to_dense(net: dict, values=None) -> np.ndarray:
  """(N, M) post x pre matrix of `values` (N, K) (default: the weights; net['valid'] gives the 0/1 wiring)."""
  values = np.asarray(net['weights'] if values is None else values, np.float64)
  pre, valid = np.asarray(net['pre']), np.asarray(net['valid'])
  out = np.zeros((pre.shape[0], len(net['inhibitory'])))
  rows = np.repeat(np.arange(pre.shape[0]), pre.shape[1])
  np.add.at(out, (rows, pre.ravel()), (values * valid).ravel())
  return out


def reservoir_mask(net: dict) -> np.ndarray:
  """(N, N) float32 0/1 reservoir-to-reservoir wiring, post x pre (for branching_factor)."""
  n = net['pre'].shape[0]
  return to_dense(net, np.ones_like(net['valid']))[:, :n].astype(np.float32)


class NeuronState(NamedTuple):
  """Per-neuron state of one network, each (M,): membrane, refractory steps left, synaptic kernel."""

  v: jax.Array
  refractory: jax.Array
  synapse: jax.Array


def rest_state(num_neurons: int) -> NeuronState:
  z = jnp.zeros((num_neurons,), jnp.float32)
  return NeuronState(z, z, z)


class Plastic(NamedTuple):
  """What plasticity changes in one network: weights (N, K), STDP traces (M,), rates (common.homeostatic.astro)."""

  weights: jax.Array
  trace: jax.Array
  rates: astro.Rates


def input_probabilities(x: jax.Array, total_rate: float) -> jax.Array:
  """Per-step Poisson event probabilities (B, D) from non-negative intensities (B, ...): each image is scaled to
  sum to `total_rate` expected events per step and clipped to 1 (the NALSM normalises every image to a fixed sum,
  then by the dataset's largest pixel)."""
  x = jnp.maximum(x.reshape(x.shape[0], -1), 0.0)
  return jnp.clip(x / jnp.maximum(jnp.sum(x, axis=1, keepdims=True), 1e-12) * total_rate, 0.0, 1.0)


def dense_weights(weights: jax.Array, pre: jax.Array, num_neurons: int) -> jax.Array:
  """(N, M) post x pre matrix from the (N, K) slots (traceable; padding slots hold 0)."""
  rows = jnp.broadcast_to(jnp.arange(weights.shape[0])[:, None], pre.shape)
  return jnp.zeros((weights.shape[0], num_neurons), weights.dtype).at[rows, pre].add(weights)


def _spike_and_kernel(cfg: LSMConfig, state: NeuronState):
  """The first half of a step: spikes s (M,), the reset membrane and the new synaptic kernel."""
  s = ((state.refractory <= 0) & (state.v >= cfg.threshold)).astype(jnp.float32)
  syn = s + (1.0 - s) * jnp.exp(-1.0 / cfg.tau_syn) * state.synapse
  return s, state.v * (1.0 - s), syn


def _integrate(cfg: LSMConfig, state: NeuronState, s, v, syn, rec: jax.Array, events: jax.Array) -> NeuronState:
  """The second half: membranes integrate the recurrent drive rec (N,) and the input events (D,)."""
  drive = jnp.concatenate([rec / cfg.tau_syn, cfg.input_current * events])
  v = v + drive + cfg.bias - v / cfg.tau_v
  refractory = jnp.where(s > 0, jnp.float32(cfg.refractory), jnp.maximum(state.refractory - 1.0, 0.0))
  return NeuronState(v, refractory, syn)


def neuron_step(cfg: LSMConfig, weights: jax.Array, pre: jax.Array | None, state: NeuronState, events: jax.Array):
  """One step of the LIF dynamics (module docstring) -> (new state, spikes (M,)). events: (D,) in {0, 1}.

  weights, pre: the (N, K) slots; or pre=None and weights the dense (N, M) matrix (a frozen liquid stepping a
  batch: one GEMM beats N K gathers per example).
  """
  s, v, syn = _spike_and_kernel(cfg, state)
  rec = weights @ syn if pre is None else jnp.sum(weights * syn[pre], axis=1)
  return _integrate(cfg, state, s, v, syn, rec, events), s


def plastic_step(
  pcfg: astro.PlasticityConfig, net: dict, plastic: Plastic, spikes: jax.Array, pre_values=None
) -> Plastic:
  """STDP with the old traces and rates, then the traces, then the astrocyte, then the rate decay.

  pre_values: optional (spikes[pre], trace[pre], inhibitory[pre]), already gathered by the caller.
  """
  if pcfg.mode == 'none':
    return plastic
  n = plastic.weights.shape[0]
  rates = plastic.rates
  if pre_values is None:
    pre = net['pre']
    pre_values = (spikes[pre], plastic.trace[pre], net['inhibitory'][pre])
  weights = astro.stdp_update(
    plastic.weights,
    net['valid'],
    spikes[:n],
    plastic.trace[:n],
    *pre_values,
    net['lo'],
    net['hi'],
    rates.ltp,
    astro.ltd_rate(pcfg, rates),
  )
  trace = astro.trace_update(plastic.trace, spikes, pcfg.trace_amplitude, jnp.exp(-1.0 / pcfg.stdp_tau))
  if pcfg.mode == 'astro':
    a = astro.astro_update(rates.astro, spikes[:n], spikes[n:], rates.astro_weight, rates.astro_bias, pcfg.astro_tau)
    rates = rates._replace(astro=a)
  return Plastic(weights, trace, astro.decay_rates(rates, pcfg.rate_decay))


def simulate(
  cfg: LSMConfig,
  pcfg: astro.PlasticityConfig,
  net: dict,
  plastic: Plastic,
  state: NeuronState,
  events: jax.Array,
  unroll: int = 1,
  dense: bool = True,
):
  """Runs one network over events (T, D) with lax.scan -> (plastic, state, spikes (T, M) float32).

  `net` needs 'pre', 'valid', 'inhibitory', 'lo', 'hi' (arrays); the weights are plastic.weights. A frozen liquid
  (mode 'none') steps through the dense (N, M) matrix when `dense` (one matvec, or one GEMM when vmapped over a
  batch: on a CPU faster than gathering the slots even for one network, measured in benchmarks/bench_astro.py) and
  through the slots otherwise (N K instead of N M numbers per step; a plastic liquid always uses the slots).
  """
  pre = net['pre']
  if pcfg.mode == 'none':
    weights = dense_weights(plastic.weights, pre, state.v.shape[0]) if dense else plastic.weights

    def frozen(state, e):
      return neuron_step(cfg, weights, None if dense else pre, state, e)

    state, spikes = jax.lax.scan(frozen, state, events, unroll=unroll)
    return plastic, state, spikes

  inh_pre = net['inhibitory'][pre]  # constant over the scan

  def body(carry, e):
    plastic, state = carry
    s, v, syn = _spike_and_kernel(cfg, state)
    g = jnp.stack([syn, s, plastic.trace])[:, pre]  # one gather (3, N, K) for the drive and STDP
    state = _integrate(cfg, state, s, v, syn, jnp.sum(plastic.weights * g[0], axis=1), e)
    return (plastic_step(pcfg, net, plastic, s, (g[1], g[2], inh_pre)), state), s

  (plastic, state), spikes = jax.lax.scan(body, (plastic, state), events, unroll=unroll)
  return plastic, state, spikes


def present(cfg, pcfg, net, plastic: Plastic, events: jax.Array, unroll: int = 1, dense: bool = True):
  """One sample from rest: neurons and rates reset (weights and traces carried, as the authors) -> (plastic,
  spikes (T, M))."""
  plastic = plastic._replace(rates=astro.initial_rates(pcfg))
  state = rest_state(net['inhibitory'].shape[0])
  plastic, _, spikes = simulate(cfg, pcfg, net, plastic, state, events, unroll, dense)
  return plastic, spikes


def poisson_events(key: jax.Array, probabilities: jax.Array, num_steps: int) -> jax.Array:
  """(B, D) probabilities -> (B, T, D) float32 events, independent per step."""
  u = jax.random.uniform(key, (probabilities.shape[0], num_steps, probabilities.shape[1]))
  return (u < probabilities[:, None, :]).astype(jnp.float32)


def spike_count_features(spikes: jax.Array, num_reservoir: int) -> jax.Array:
  """Read-out features (B, N) from spikes (B, T, M): the reservoir's spike counts divided by their sum and
  multiplied by N (mean feature 1). The authors divide by the sum and then by the batch's largest entry, which
  makes a feature depend on the other examples of its batch; a fixed factor does not."""
  counts = jnp.sum(spikes[..., :num_reservoir], axis=1)
  return counts / jnp.maximum(jnp.sum(counts, axis=-1, keepdims=True), 1.0) * num_reservoir


def branching_factor(spikes: jax.Array, mask: jax.Array, window: int = 4, buffer: int = 25) -> tuple:
  """The authors' branching factor of one sample (compute_branching_factor.py, read, not copied).

  For every reservoir spike of neuron i at step t (buffer + window <= t < T - buffer - window), with only spikes in
  [buffer, T - buffer) counted: ancestors = spikes of i's presynaptic reservoir neurons in [t - window, t),
  descendants = spikes of its postsynaptic reservoir neurons in [t + 1, t + 1 + window); the ratio
  descendants / max(ancestors, 1) is averaged over i's spikes, then over the neurons that spiked.

  Args:
    spikes: (T, N) reservoir spikes. mask: (N, N) reservoir connectivity, post x pre.

  Returns:
    (sigma (), per-neuron ratios (N,) with NaN for neurons without a counted spike).
  """
  t_len = spikes.shape[0]
  t = jnp.arange(t_len)
  s = spikes * ((t >= buffer) & (t < t_len - buffer))[:, None]
  c = jnp.concatenate([jnp.zeros((1, s.shape[1]), s.dtype), jnp.cumsum(s, axis=0)])  # c[k] = sum of s[:k]
  pre_window = c[t] - c[jnp.maximum(t - window, 0)]  # [t - window, t)
  post_window = c[jnp.minimum(t + 1 + window, t_len)] - c[jnp.minimum(t + 1, t_len)]  # [t + 1, t + 1 + window)
  ancestors = pre_window @ mask.T  # (T, N): sum over i's presynaptic neurons j
  descendants = post_window @ mask  # (T, N): sum over i's postsynaptic neurons k
  counted = s * ((t >= buffer + window) & (t < t_len - buffer - window))[:, None]
  ratio = descendants / jnp.maximum(ancestors, 1.0)
  num = jnp.sum(counted, axis=0)
  per_neuron = jnp.where(num > 0, jnp.sum(counted * ratio, axis=0) / jnp.maximum(num, 1.0), jnp.nan)
  return jnp.nanmean(per_neuron), per_neuron
