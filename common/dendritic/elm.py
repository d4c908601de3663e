"""The Expressive Leaky Memory (ELM) neuron and Branch-ELM (Spieler et al., ICLR 2024) as recurrent layers.

Dynamics per time step (dt = 1 step), inputs x_t (B, I):

  synaptic traces   s_t = k_s * s_{t-1} + w_s * x_t               w_s = relu(param) >= 0, k_s = exp(-1/tau_s)
  (Branch-ELM)      b_t = k_b * b_{t-1} + (w_s * x_t) @ R          R routes synapses to branches (fixed)
  integration       dm_t = 1.7159 tanh(2/3 * MLP([s_t (or b_t), k_m * m_{t-1}]))
  memory            m_t = k_m * m_{t-1} + (1 - exp(-lambda / tau_m)) * dm_t,   k_m = exp(-1/tau_m)
  output            y_t = W_y m_t

tau_m (d_m memory units) is initialised log-spaced in [tau_min, tau_max] and, when learned, kept inside those
bounds by a scaled sigmoid: tau_m = tau_min + (tau_max - tau_min) * sigmoid(rho). Capping tau_max (e.g. at 25
steps) is the paper's timescale ablation.

Implementation: the synaptic/branch traces do not depend on the memory, so they are computed first (their own
scan), and their contribution to the first MLP layer is one large matmul over all time steps; the lax.scan over
time then carries only m (B, d_m). This is algebraically identical to the per-step equations and much faster.

Deviations from the paper's code, on purpose:
- The memory update uses (1 - exp(-lambda/tau_m)) for both variants (the Branch-ELM / v2 form). v1 uses
  lambda * (1 - k_m), which equals it for tau_m >> lambda and exceeds 1 for short timescales.
- Branch routing is a fixed contiguous partition of the inputs into `num_branches` groups (input i goes to
  branch floor(i * num_branches / I)) instead of NeuronIO's overlapping excitatory/inhibitory windows.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from common.dendritic.leaky import inverse_scaled_sigmoid, leaky_trace, scaled_sigmoid  # noqa: F401 (re-exported)
from common.train.errors import ConfigurationError

_ACTS = {'relu': nn.relu, 'silu': nn.silu, 'tanh': jnp.tanh, 'gelu': nn.gelu}


def scaled_tanh(x):
  return 1.7159 * jnp.tanh(x * (2.0 / 3.0))


def branch_routing(num_inputs: int, num_branches: int) -> np.ndarray:
  """(I, num_branches) {0,1} matrix: a contiguous partition of the inputs into branches."""
  if not 1 <= num_branches <= num_inputs:
    raise ConfigurationError(f'num_branches={num_branches} must be between 1 and the number of inputs {num_inputs}.')
  branch = (np.arange(num_inputs) * num_branches) // num_inputs
  return np.eye(num_branches, dtype=np.float32)[branch]


class ELM(nn.Module):
  """ELM / Branch-ELM recurrent layer: x (B, T, I) -> y (B, T, features) (or the memory (B, T, d_m)).

  Attributes:
    num_memory: d_m, the number of memory units.
    features: output width of y_t = W_y m_t; None returns the memory m_t itself.
    num_branches: None for the ELM neuron (the MLP reads every synaptic trace); an int for Branch-ELM (synapses
      summed into that many branches before the MLP, far fewer parameters when I is large).
    mlp_hidden: widths of the integration MLP's hidden layers (default: one layer of 2 * d_m).
    mlp_act: 'relu', 'silu', 'tanh' or 'gelu'.
    tau_s: synaptic trace time constant (fixed), also used for the branch traces.
    tau_min, tau_max: bounds (and log-spaced initial values) of the memory timescales, in steps.
    learn_tau: learn tau_m (inside the bounds) or keep it fixed.
    memory_lambda: lambda, the memory's input gain.
    unroll: lax.scan unroll factor.
  """

  num_memory: int = 20
  features: int | None = None
  num_branches: int | None = None
  mlp_hidden: Sequence[int] | None = None
  mlp_act: str = 'relu'
  tau_s: float = 5.0
  tau_min: float = 1.0
  tau_max: float = 1000.0
  learn_tau: bool = True
  memory_lambda: float = 5.0
  unroll: int = 1

  def _check(self, x):
    if x.ndim != 3:
      raise ConfigurationError(f'ELM expects inputs (B, T, I); got shape {x.shape}.')
    if self.num_memory < 1:
      raise ConfigurationError(f'num_memory={self.num_memory} must be at least 1.')
    if not 0 < self.tau_min < self.tau_max:
      raise ConfigurationError(
        f'tau_min={self.tau_min}, tau_max={self.tau_max}: need 0 < tau_min < tau_max (timescales in steps).'
      )
    if not self.tau_s > 0:
      raise ConfigurationError(f'tau_s={self.tau_s} must be positive.')
    if self.mlp_act not in _ACTS:
      raise ConfigurationError(f'mlp_act={self.mlp_act!r} is unknown; choose one of {sorted(_ACTS)}.')

  def _rho_init(self) -> np.ndarray:
    taus = np.logspace(np.log10(self.tau_min), np.log10(self.tau_max), self.num_memory)
    return inverse_scaled_sigmoid(taus, self.tau_min, self.tau_max).astype(np.float32)

  def timescales(self) -> jax.Array:
    """tau_m (d_m,) in steps, from the current parameters (use with `apply(..., method='timescales')`)."""
    rho = self.get_variable('params', 'tau_rho') if self.learn_tau else jnp.asarray(self._rho_init())
    return scaled_sigmoid(rho, self.tau_min, self.tau_max)

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    self._check(x)
    num_inputs, d_m = x.shape[-1], self.num_memory
    hidden = tuple(self.mlp_hidden) if self.mlp_hidden is not None else (2 * d_m,)
    act = _ACTS[self.mlp_act]

    # Synaptic weights, non-negative, and the synaptic (or branch) traces for all steps.
    w_s = nn.relu(self.param('synapse_weight', nn.initializers.constant(0.5), (num_inputs,)))
    drive = x * w_s
    if self.num_branches is not None:
      drive = drive @ jnp.asarray(branch_routing(num_inputs, self.num_branches))
    traces = leaky_trace(drive, jnp.exp(-1.0 / self.tau_s), unroll=self.unroll)  # (B, T, S)

    if self.learn_tau:
      rho = self.param('tau_rho', lambda *_: jnp.asarray(self._rho_init()))
    else:
      rho = jnp.asarray(self._rho_init())
    tau_m = scaled_sigmoid(rho, self.tau_min, self.tau_max)
    k_m = jnp.exp(-1.0 / tau_m)
    gain = 1.0 - jnp.exp(-self.memory_lambda / tau_m)

    # Integration MLP as raw parameters (lax.scan needs pure arrays). Its first layer splits into a trace part,
    # hoisted out of the scan as one matmul over all steps, and a memory part applied inside the scan.
    widths = (traces.shape[-1] + d_m, *hidden, d_m)
    kernels, biases = [], []
    for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
      kernels.append(self.param(f'mlp_{i}_kernel', nn.initializers.lecun_normal(), (fan_in, fan_out)))
      biases.append(self.param(f'mlp_{i}_bias', nn.initializers.zeros, (fan_out,)))
    n_tr = traces.shape[-1]
    from_traces = traces @ kernels[0][:n_tr] + biases[0]  # (B, T, H)
    w_mem = kernels[0][n_tr:]

    def mlp_tail(h):
      for kernel, bias in zip(kernels[1:], biases[1:]):
        h = act(h) @ kernel + bias
      return h

    def step(m, pre_t):
      h = pre_t + (k_m * m) @ w_mem
      dm = scaled_tanh(mlp_tail(h))
      m = k_m * m + gain * dm
      return m, m

    m0 = jnp.zeros((x.shape[0], d_m), x.dtype)
    _, mem = jax.lax.scan(step, m0, jnp.moveaxis(from_traces, 1, 0), unroll=self.unroll)
    mem = jnp.moveaxis(mem, 0, 1)  # (B, T, d_m)
    if self.features is None:
      return mem
    return nn.Dense(self.features, name='readout')(mem)
