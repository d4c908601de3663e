"""Recurrent baselines (LSTM, GRU) in the same style as the ELM layer, and a sequence read-out head.

LSTM and GRU are written with raw parameters and jax.lax.scan, with the input projection of all steps hoisted
out of the scan as one matmul (the same optimisation the ELM layer gets), so speed comparisons are like for like.
Both take x (B, T, I) and return the hidden states (B, T, H).

`SequenceModel(core, out, readout)` wraps any of them (or ELM) with a Dense head read at the last step
('last') or on the time average ('mean'); `parameter_matched_hidden` picks the LSTM/GRU width whose parameter
count is closest to a target.
"""

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from common.train.errors import ConfigurationError

READOUTS = ('last', 'mean', 'all')


def _scan_time(step, carry, xs, unroll):
  _, hs = jax.lax.scan(step, carry, jnp.moveaxis(xs, 1, 0), unroll=unroll)
  return jnp.moveaxis(hs, 0, 1)


class LSTM(nn.Module):
  """Standard LSTM (forget-gate bias 1): x (B, T, I) -> h (B, T, hidden)."""

  hidden: int = 64
  unroll: int = 1

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    if x.ndim != 3:
      raise ConfigurationError(f'LSTM expects inputs (B, T, I); got shape {x.shape}.')
    h_dim = self.hidden
    w_x = self.param('input_kernel', nn.initializers.lecun_normal(), (x.shape[-1], 4 * h_dim))
    w_h = self.param('recurrent_kernel', nn.initializers.orthogonal(), (h_dim, 4 * h_dim))
    bias = self.param('bias', lambda k, s: jnp.zeros(s).at[h_dim : 2 * h_dim].set(1.0), (4 * h_dim,))
    gates_x = x @ w_x + bias

    def step(carry, gx):
      h, c = carry
      i, f, g, o = jnp.split(gx + h @ w_h, 4, axis=-1)
      c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
      h = jax.nn.sigmoid(o) * jnp.tanh(c)
      return (h, c), h

    zeros = jnp.zeros((x.shape[0], h_dim), x.dtype)
    return _scan_time(step, (zeros, zeros), gates_x, self.unroll)


class GRU(nn.Module):
  """Standard GRU (reset gate applied to the recurrent candidate term): x (B, T, I) -> h (B, T, hidden)."""

  hidden: int = 64
  unroll: int = 1

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    if x.ndim != 3:
      raise ConfigurationError(f'GRU expects inputs (B, T, I); got shape {x.shape}.')
    h_dim = self.hidden
    w_x = self.param('input_kernel', nn.initializers.lecun_normal(), (x.shape[-1], 3 * h_dim))
    w_h = self.param('recurrent_kernel', nn.initializers.orthogonal(), (h_dim, 3 * h_dim))
    b_x = self.param('input_bias', nn.initializers.zeros, (3 * h_dim,))
    b_h = self.param('recurrent_bias', nn.initializers.zeros, (3 * h_dim,))
    gates_x = x @ w_x + b_x

    def step(h, gx):
      rx, zx, nx = jnp.split(gx, 3, axis=-1)
      rh, zh, nh = jnp.split(h @ w_h + b_h, 3, axis=-1)
      r, z = jax.nn.sigmoid(rx + rh), jax.nn.sigmoid(zx + zh)
      n = jnp.tanh(nx + r * nh)
      h = (1.0 - z) * n + z * h
      return h, h

    return _scan_time(step, jnp.zeros((x.shape[0], h_dim), x.dtype), gates_x, self.unroll)


class SequenceModel(nn.Module):
  """core (B, T, I) -> (B, T, H), then a Dense head: (B, out) for 'last'/'mean' read-outs, (B, T, out) for 'all'.

  Attributes:
    core: a recurrent layer (ELM, LSTM, GRU, ...).
    out: output width (classes or regression targets).
    readout: 'last' (the final step), 'mean' (time average) or 'all' (every step).
  """

  core: nn.Module
  out: int = 10
  readout: str = 'last'

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    if self.readout not in READOUTS:
      raise ConfigurationError(f'readout={self.readout!r} is unknown; choose one of {READOUTS}.')
    h = self.core(x, train=train)
    if self.readout == 'last':
      h = h[:, -1]
    elif self.readout == 'mean':
      h = jnp.mean(h, axis=1)
    return nn.Dense(self.out, name='head')(h)


def rnn_param_count(kind: str, num_inputs: int, hidden: int, out: int) -> int:
  """Parameters of SequenceModel(LSTM/GRU(hidden), out) on num_inputs inputs."""
  gates = {'lstm': 4, 'gru': 3}[kind]
  biases = gates * hidden * (2 if kind == 'gru' else 1)
  return gates * hidden * (num_inputs + hidden) + biases + hidden * out + out


def parameter_matched_hidden(kind: str, num_inputs: int, out: int, target: int) -> int:
  """The LSTM/GRU width whose SequenceModel parameter count is closest to `target`."""
  if kind not in ('lstm', 'gru'):
    raise ConfigurationError(f'kind={kind!r} must be "lstm" or "gru".')
  guess = max(1, int(math.sqrt(max(target, 1) / {'lstm': 4, 'gru': 3}[kind])))
  candidates = range(1, 2 * guess + 4)
  return min(candidates, key=lambda h: abs(rnn_param_count(kind, num_inputs, h, out) - target))
