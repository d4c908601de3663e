"""What the paper measures on a trained network, as pure functions of its parameters.

Models are SequenceModel(core=LeakyRNN | GRU | LSTM, out=2 * heads, readout='last'); `params` is that model's
'params' tree ({'core': ..., 'head': {'kernel', 'bias'}}).

- Single-neuron timescales: `neuron_taus` (the clamped trained tau of every LeakyRNN neuron).
- Network-mediated timescales: `record_activity` drives the core with long Bernoulli streams (p ~ U(0, 1) per
  stream, as the authors' analysis), `autocorrelation` averages every neuron's autocorrelation over streams, and
  `exponential_timescale` fits a * exp(-lag / tau_net) to it.
- Robustness: `ablate_units` (a neuron's input, recurrent and read-out weights set to zero, as the authors),
  `perturb_recurrent` (W_rec + eps * ||W_rec||_F * D / ||D||_F, D ~ N(0, 1): the authors' 'normalized rnn'),
  `perturb_taus` (their 'normalized tau abs', |D|), `units_by_tau` (the neurons to ablate), `head_accuracies`.

Deviation, stated: the authors fit one and two exponentials with scipy's curve_fit and keep the slower timescale of
the model AIC prefers; `exponential_timescale` fits one exponential by least squares on log(ac) over the lags where
the autocorrelation is above `floor` (jittable, no optimiser). It equals the single-exponential fit for a
single-exponential autocorrelation and underestimates the slow component of a two-timescale one.
"""

import jax
import jax.numpy as jnp
import numpy as np

from common.data.synthetic import memory_tasks
from common.dendritic.leaky import clamp_timescale


def neuron_taus(params: dict, min_tau: float = 1.0) -> jax.Array:
  """(H,) the per-neuron tau a LeakyRNN core uses (its 'tau' parameter clamped at min_tau)."""
  return clamp_timescale(params['core']['tau'], min_tau)


def bernoulli_streams(key: jax.Array, num_streams: int, length: int) -> jax.Array:
  """(num_streams, length, 1) bits, each stream Bernoulli(p) with its own p ~ U(0, 1)."""
  return memory_tasks.bit_streams(key, 'parity', num_streams, length)[..., None]


def record_activity(core, core_params: dict, key: jax.Array, num_streams: int, length: int, warmup: int = 100):
  """(num_streams, length, H) states of `core` driven by Bernoulli streams; the first `warmup` steps are dropped."""
  x = bernoulli_streams(key, num_streams, length + warmup)
  return core.apply({'params': core_params}, x)[:, warmup:]


def autocorrelation(activity: jax.Array, max_lag: int) -> jax.Array:
  """Per-neuron autocorrelation (max_lag + 1, H) of activity (B, T, H), averaged over the B streams.

  Each stream's mean is removed; the lag-k sum of products (by FFT, zero-padded) is divided by T - k (unbiased),
  averaged over streams and normalised by lag 0. A neuron with no variance gets NaN.
  """
  b, t, _ = activity.shape
  x = activity - jnp.mean(activity, axis=1, keepdims=True)
  spec = jnp.fft.rfft(x, n=2 * t, axis=1)
  raw = jnp.fft.irfft(spec * jnp.conj(spec), n=2 * t, axis=1)[:, : max_lag + 1]  # (B, L, H)
  ac = jnp.mean(raw, axis=0) / (t - jnp.arange(max_lag + 1))[:, None]
  return ac / jnp.where(ac[:1] > 0, ac[:1], jnp.nan)


def exponential_timescale(ac: jax.Array, min_lag: int = 1, floor: float = 0.05) -> jax.Array:
  """tau_net (H,) from an autocorrelation (L, H): least squares of log ac = log a - lag / tau over the lags
  >= min_lag before ac first drops below `floor`. NaN where fewer than two lags qualify (or ac is NaN)."""
  lags = jnp.arange(ac.shape[0], dtype=jnp.float32)[:, None]
  above = jnp.nan_to_num(ac, nan=-1.0) > floor
  valid = jnp.cumprod(above[min_lag:], axis=0).astype(bool)  # contiguous from min_lag
  valid = jnp.concatenate([jnp.zeros((min_lag, ac.shape[1]), bool), valid], axis=0)
  w = valid.astype(jnp.float32)
  y = jnp.log(jnp.where(valid, ac, 1.0))
  n = jnp.sum(w, axis=0)
  mx, my = jnp.sum(w * lags, 0) / jnp.maximum(n, 1), jnp.sum(w * y, 0) / jnp.maximum(n, 1)
  slope = jnp.sum(w * (lags - mx) * (y - my), 0) / jnp.maximum(jnp.sum(w * (lags - mx) ** 2, 0), 1e-12)
  tau = -1.0 / jnp.where(slope < 0, slope, jnp.nan)
  return jnp.where(n >= 2, tau, jnp.nan)


def units_by_tau(taus: jax.Array, count: int, longest: bool = True) -> np.ndarray:
  """Indices of the `count` neurons with the longest (or shortest) tau."""
  order = np.argsort(np.asarray(taus))
  return order[::-1][:count] if longest else order[:count]


def ablate_units(params: dict, units) -> dict:
  """A copy of a SequenceModel(LeakyRNN) params tree with `units` silenced: their input weights, recurrent rows
  and columns, and read-out weights set to zero (the authors' 'ablation'). Their biases stay, as the authors'."""
  idx = jnp.asarray(units, jnp.int32)
  core, head = params['core'], params['head']
  core = {
    **core,
    'input_kernel': core['input_kernel'].at[:, idx].set(0.0),
    'recurrent_kernel': core['recurrent_kernel'].at[idx, :].set(0.0).at[:, idx].set(0.0),
  }
  return {**params, 'core': core, 'head': {**head, 'kernel': head['kernel'].at[idx, :].set(0.0)}}


def perturb_recurrent(params: dict, key: jax.Array, strength: float) -> dict:
  """W_rec + strength * ||W_rec||_F * D / ||D||_F with D ~ N(0, 1) (the authors' 'normalized rnn')."""
  w = params['core']['recurrent_kernel']
  d = jax.random.normal(key, w.shape, w.dtype)
  w = w + strength * jnp.linalg.norm(w) / jnp.linalg.norm(d) * d
  return {**params, 'core': {**params['core'], 'recurrent_kernel': w}}


def perturb_taus(params: dict, key: jax.Array, strength: float) -> dict:
  """tau + strength * ||tau|| * |D| / ||D|| with D ~ N(0, 1) (the authors' 'normalized tau abs': taus only grow)."""
  tau = params['core']['tau']
  d = jnp.abs(jax.random.normal(key, tau.shape, tau.dtype))
  tau = tau + strength * jnp.linalg.norm(tau) / jnp.linalg.norm(d) * d
  return {**params, 'core': {**params['core'], 'tau': tau}}


def head_accuracies(model, params: dict, task, key: jax.Array, num_batches: int = 4) -> np.ndarray:
  """(len(task.ns),) accuracy of each active head of `task` (a MemoryTask) on fresh batches drawn from `key`."""
  correct, total = 0.0, 0

  @jax.jit
  def batch_correct(k):
    b = task._batch(k, task.batch_size)
    logits = task.head_logits(model.apply({'params': params}, b['inputs']))
    return jnp.sum(jnp.argmax(logits, -1) == b['targets'], axis=0)

  for i in range(num_batches):
    correct = correct + np.asarray(batch_correct(jax.random.fold_in(key, i)), np.float64)
    total += task.batch_size
  return correct / total
