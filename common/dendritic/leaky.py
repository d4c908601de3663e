"""Leaky units with per-neuron timescales: the shared primitive of every timescale code path in this repo.

A leaky unit low-passes its drive with a time constant tau (in steps). Two discretisations of tau dr/dt = -r + u:

  leaky_update(r, u, tau)  = (1 - 1/tau) r + (1/tau) u     Euler step (dt = 1); tau >= 1 keeps it a convex mix.
                                                           The emergent-timescales RNN (Khajehabdollahi et al.).
  decay_factor(tau)        = exp(-1/tau)                   the exact one-step decay; r <- k r + (1 - k) u is the
                                                           exact update for a drive held over the step. ELM memory,
                                                           LIF membranes (common.spiking.lif.beta_from_tau), CTM
                                                           synchronisation decays (r = exp(-lambda)).
  leaky_trace(x, decay)    t_t = decay t_{t-1} + x_t       an accumulating trace over a (B, T, F) sequence (ELM).

Timescale parametrisations (how a learnable tau stays valid):
  clamp_timescale(tau, lo)            max(tau, lo): the forward clamp of the emergent-timescales code (torch.clamp
                                      semantics: no gradient while tau < lo, so a tau below the floor stays put).
  scaled_sigmoid(rho, lo, hi)         lo + (hi - lo) sigmoid(rho): tau bounded on both sides (ELM's tau_m);
  inverse_scaled_sigmoid(tau, lo, hi) its inverse, for initial values.

Every function is elementwise and broadcasts (tau of shape (H,) against states (B, H)).
"""

import jax
import jax.numpy as jnp
import numpy as np


def leaky_update(state: jax.Array, drive: jax.Array, tau: jax.Array | float) -> jax.Array:
  """(1 - 1/tau) * state + (1/tau) * drive, written as state + (drive - state) / tau (one multiply fewer)."""
  return state + (drive - state) / tau


def decay_factor(tau: jax.Array | float) -> jax.Array:
  """exp(-1 / tau): the per-step decay of a unit with time constant tau steps."""
  return jnp.exp(-1.0 / jnp.asarray(tau, jnp.float32))


def clamp_timescale(tau: jax.Array, minimum: float = 1.0) -> jax.Array:
  """max(tau, minimum); the gradient is zero where tau < minimum (as torch.clamp)."""
  return jnp.maximum(tau, minimum)


def scaled_sigmoid(x, low, high):
  """low + (high - low) * sigmoid(x): a timescale kept inside (low, high)."""
  return low + (high - low) * jax.nn.sigmoid(x)


def inverse_scaled_sigmoid(y, low, high):
  """The x with scaled_sigmoid(x, low, high) = y (y clipped just inside the bounds); float64 numpy."""
  y = np.clip(np.asarray(y, np.float64), low + 1e-6 * (high - low), high - 1e-6 * (high - low))
  return np.log((y - low) / (high - y))


def leaky_trace(x: jax.Array, decay, *, unroll: int = 1) -> jax.Array:
  """t_t = decay * t_{t-1} + x_t along axis 1 of x (B, T, F); returns (B, T, F)."""

  def body(c, xt):
    c = decay * c + xt
    return c, c

  _, out = jax.lax.scan(body, jnp.zeros_like(x[:, 0]), jnp.moveaxis(x, 1, 0), unroll=unroll)
  return jnp.moveaxis(out, 0, 1)
