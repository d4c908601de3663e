"""A rate RNN whose neurons each learn their own timescale (Khajehabdollahi, Zeraati et al., ICLR 2024).

One step, input x_t (B, I), state r (B, H), per-neuron tau (H,) clamped to tau >= min_tau:

  drive  u_t     = r_{t-1} W_rec + b_rec + x_t W_in + b_in          (W_rec diagonal fixed at 0: no self-connections)
  'outside'  r_t = f((1 - 1/tau) r_{t-1} + (1/tau) u_t)             the authors' default model (RNN_Stack)
  'inside'   r_t = (1 - 1/tau) r_{t-1} + (1/tau) f(u_t)             the research notes' equation (the authors' RNN_Mod)

with f = LeakyReLU(0.01) by default. Both placements use common.dendritic.leaky.leaky_update, the repo's shared
leaky primitive. tau = 1 makes a plain (Elman) RNN; a large tau holds the state.

Choices, stated (the paper's code was read, not copied; github.com/LevinaLab/rnn_timescale_public):
- Initialisation as torch.nn.Linear (weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in))); trainable taus start
  at tau_init + tau_spread * U(0, 1) (the authors: 1 + U(0, 1)); fixed taus are all tau_init.
- The clamp tau >= min_tau is applied in the forward pass with zero gradient below the floor (torch.clamp), so the
  parameter itself is unconstrained, as in the authors' code.
- The initial state is zero. The authors draw it from 0.1 * U(0, 1) on every forward pass; a fixed zero start keeps
  evaluation deterministic without an rng.

Shapes: x (B, T, I) -> states (B, T, H). Use it as the core of common.dendritic.recurrent.SequenceModel.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

from common.dendritic.leaky import clamp_timescale, leaky_update
from common.train.errors import ConfigurationError

ACTIVATIONS = {
  'leaky_relu': lambda x: jax.nn.leaky_relu(x, 0.01),
  'relu': jax.nn.relu,
  'tanh': jnp.tanh,
  'sigmoid': jax.nn.sigmoid,
}
PLACEMENTS = ('outside', 'inside')


def torch_linear_init(fan_in: int):
  """U(-1/sqrt(fan_in), 1/sqrt(fan_in)), torch.nn.Linear's default for weights and biases."""
  bound = 1.0 / max(fan_in, 1) ** 0.5
  return lambda key, shape, dtype=jnp.float32: jax.random.uniform(key, shape, dtype, -bound, bound)


class LeakyRNN(nn.Module):
  """Leaky rate RNN with per-neuron timescales: x (B, T, I) -> r (B, T, hidden).

  Attributes:
    hidden: number of neurons H.
    learn_tau: train one tau per neuron (parameter 'tau'); False keeps every tau at tau_init.
    tau_init, tau_spread: initial taus tau_init + tau_spread * U(0, 1) when learned (the paper: 1 and 1).
    min_tau: the floor of the forward clamp (1: the update stays a convex mix).
    activation: 'leaky_relu' (paper), 'relu', 'tanh' or 'sigmoid'.
    placement: 'outside' (authors' default) or 'inside' (the research notes' equation); see the module docstring.
    self_connections: keep the diagonal of W_rec (the paper removes it).
    unroll: lax.scan unroll factor.
  """

  hidden: int = 64
  learn_tau: bool = True
  tau_init: float = 1.0
  tau_spread: float = 1.0
  min_tau: float = 1.0
  activation: str = 'leaky_relu'
  placement: str = 'outside'
  self_connections: bool = False
  unroll: int = 1

  def __post_init__(self):
    if self.hidden < 1:
      raise ConfigurationError(f'LeakyRNN.hidden={self.hidden} must be at least 1.')
    if self.activation not in ACTIVATIONS:
      raise ConfigurationError(
        f'LeakyRNN.activation={self.activation!r} is unknown; choose one of {sorted(ACTIVATIONS)}.'
      )
    if self.placement not in PLACEMENTS:
      raise ConfigurationError(f'LeakyRNN.placement={self.placement!r} must be one of {PLACEMENTS}.')
    if not self.min_tau > 0:
      raise ConfigurationError(f'LeakyRNN.min_tau={self.min_tau} must be positive (a timescale in steps).')
    if self.tau_init < self.min_tau or self.tau_spread < 0:
      raise ConfigurationError(
        f'LeakyRNN.tau_init={self.tau_init}, tau_spread={self.tau_spread}: need tau_init >= min_tau={self.min_tau} '
        'and tau_spread >= 0.'
      )
    super().__post_init__()

  def _tau_param(self):
    def init(key, shape):
      return self.tau_init + self.tau_spread * jax.random.uniform(key, shape)

    return self.param('tau', init, (self.hidden,))

  def timescales(self) -> jax.Array:
    """The clamped per-neuron tau (H,) used by the dynamics (call with `apply(..., method='timescales')`)."""
    if self.learn_tau:
      return clamp_timescale(self.get_variable('params', 'tau'), self.min_tau)
    return jnp.full((self.hidden,), self.tau_init, jnp.float32)

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    if x.ndim != 3:
      raise ConfigurationError(f'LeakyRNN expects inputs (B, T, I); got shape {x.shape}.')
    h = self.hidden
    w_in = self.param('input_kernel', torch_linear_init(x.shape[-1]), (x.shape[-1], h))
    b_in = self.param('input_bias', torch_linear_init(x.shape[-1]), (h,))
    w_rec = self.param('recurrent_kernel', torch_linear_init(h), (h, h))
    b_rec = self.param('recurrent_bias', torch_linear_init(h), (h,))
    if not self.self_connections:
      w_rec = w_rec * (1.0 - jnp.eye(h, dtype=w_rec.dtype))
    tau = clamp_timescale(self._tau_param(), self.min_tau) if self.learn_tau else jnp.float32(self.tau_init)
    f = ACTIVATIONS[self.activation]
    drive_in = x @ w_in + (b_in + b_rec)  # (B, T, H): the input part of every step, one matmul

    def step(r, u_in):
      u = u_in + r @ w_rec
      r = f(leaky_update(r, u, tau)) if self.placement == 'outside' else leaky_update(r, f(u), tau)
      return r, r

    r0 = jnp.zeros((x.shape[0], h), x.dtype)
    _, states = jax.lax.scan(step, r0, jnp.moveaxis(drive_in, 1, 0), unroll=self.unroll)
    return jnp.moveaxis(states, 0, 1)
