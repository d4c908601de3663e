"""An excitatory/inhibitory echo state network (rate neurons, Dale's law) with optional target-rate adaptation.

State: firing rates r (N,) in [0, 1). One step with input u (d,):

    r <- (1 - leak) r + leak * phi(W_E r - inhibition_scale * g * (W_I r) + W_in u + bias),  phi = max(0, tanh)

W_E >= 0 holds the excitatory presynaptic columns, W_I >= 0 the inhibitory ones (magnitudes), g (N,) is the
per-neuron inhibitory gain (1 unless adapted, see target_rate.py). Inhibitory magnitudes are drawn so that at
inhibition_scale = 1 and g = 1 every neuron's expected excitatory and inhibitory input weights are equal
(balanced); the whole matrix is then scaled so that the balanced W_E - W_I has the configured spectral radius.
inhibition_scale < 1 makes the network excitation-dominated, > 1 over-inhibited: the paper's global E/I knob.

The time loop is one lax.scan; a readout is ridge regression on the collected rates (ridge_fit / ridge_predict).
"""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from common.homeostatic.target_rate import adapt_gain
from common.train.errors import ConfigurationError


@dataclasses.dataclass(frozen=True)
class ReservoirConfig:
  """Reservoir hyperparameters (validated at construction; every bad value names itself).

  Attributes:
    size: N neurons. excitatory_fraction: share of excitatory neurons (Dale's law).
    connectivity: probability of each synapse. spectral_radius: of the balanced W_E - W_I (finite, > 0).
    input_scale: W_in entries ~ U(-input_scale, input_scale). bias: constant drive of every neuron.
    leak: leak rate in (0, 1]. inhibition_scale: the global E/I knob (1 = balanced).
  """

  size: int = 300
  excitatory_fraction: float = 0.8
  connectivity: float = 0.1
  spectral_radius: float = 0.9
  input_scale: float = 1.0
  bias: float = 0.2
  leak: float = 1.0
  inhibition_scale: float = 1.0

  def __post_init__(self):
    if not (isinstance(self.spectral_radius, (int, float)) and math.isfinite(self.spectral_radius)):
      raise ConfigurationError(f'ReservoirConfig.spectral_radius={self.spectral_radius} must be a finite number.')
    if self.spectral_radius <= 0:
      raise ConfigurationError(f'ReservoirConfig.spectral_radius={self.spectral_radius} must be positive.')
    if self.size < 2:
      raise ConfigurationError(f'ReservoirConfig.size={self.size} must be at least 2.')
    if not 0 < self.excitatory_fraction < 1:
      raise ConfigurationError(f'ReservoirConfig.excitatory_fraction={self.excitatory_fraction} must be in (0, 1).')
    if not 0 < self.connectivity <= 1:
      raise ConfigurationError(f'ReservoirConfig.connectivity={self.connectivity} must be in (0, 1].')
    if not 0 < self.leak <= 1:
      raise ConfigurationError(f'ReservoirConfig.leak={self.leak} must be in (0, 1].')
    if not (math.isfinite(self.inhibition_scale) and self.inhibition_scale >= 0):
      raise ConfigurationError(f'ReservoirConfig.inhibition_scale={self.inhibition_scale} must be finite and >= 0.')


def init_reservoir(cfg: ReservoirConfig, input_dim: int, seed: int) -> dict[str, jax.Array]:
  """Random weights (numpy, seeded; the eigenvalue solve runs once on the host).

  Returns {'w_exc': (N, N), 'w_inh': (N, N), 'w_in': (N, d), 'bias': (N,)}; rows are postsynaptic.
  """
  rng = np.random.default_rng(seed)
  n, n_exc = cfg.size, int(round(cfg.size * cfg.excitatory_fraction))
  mask = rng.random((n, n)) < cfg.connectivity
  np.fill_diagonal(mask, False)
  mags = rng.random((n, n)) * mask
  w_exc, w_inh = mags.copy(), mags.copy()
  w_exc[:, n_exc:] = 0.0
  w_inh[:, :n_exc] = 0.0
  # Balance: equal expected excitatory and inhibitory input weight per neuron.
  w_inh *= w_exc.sum() / max(w_inh.sum(), 1e-12)
  radius = np.max(np.abs(np.linalg.eigvals(w_exc - w_inh)))
  scale = cfg.spectral_radius / max(radius, 1e-12)
  w_in = rng.uniform(-cfg.input_scale, cfg.input_scale, (n, input_dim))
  return {
    'w_exc': jnp.asarray(w_exc * scale, jnp.float32),
    'w_inh': jnp.asarray(w_inh * scale, jnp.float32),
    'w_in': jnp.asarray(w_in, jnp.float32),
    'bias': jnp.full((n,), cfg.bias, jnp.float32),
  }


def run(
  weights: dict[str, jax.Array],
  inputs: jax.Array,
  *,
  leak: float,
  inhibition_scale: float | jax.Array,
  gain: jax.Array,
  targets: jax.Array | None = None,
  adapt_rate: float | jax.Array = 0.0,
) -> tuple[jax.Array, jax.Array]:
  """Drives the reservoir with `inputs` (T, d) from rest; returns (rates (T, N), final gain (N,)).

  With `targets` given and adapt_rate > 0, the gains adapt at every step (target_rate.adapt_gain).
  """
  n = weights['w_exc'].shape[0]

  def step(carry, u):
    r, g = carry
    drive = weights['w_exc'] @ r - inhibition_scale * g * (weights['w_inh'] @ r) + weights['w_in'] @ u
    r = (1.0 - leak) * r + leak * jnp.maximum(jnp.tanh(drive + weights['bias']), 0.0)
    if targets is not None:
      g = adapt_gain(g, r, targets, adapt_rate)
    return (r, g), r

  (_, gain), rates = jax.lax.scan(step, (jnp.zeros((n,), jnp.float32), gain), inputs)
  return rates, gain


def ridge_fit(states: jax.Array, targets: jax.Array, ridge: float | jax.Array) -> jax.Array:
  """Readout weights (N + 1, k) minimising ||[states, 1] W - targets||^2 + ridge ||W||^2 (bias not penalised)."""
  x = jnp.concatenate([states, jnp.ones((states.shape[0], 1), states.dtype)], axis=1)
  reg = ridge * jnp.eye(x.shape[1]).at[-1, -1].set(0.0)
  return jnp.linalg.solve(x.T @ x + reg, x.T @ targets)


def ridge_predict(states: jax.Array, w: jax.Array) -> jax.Array:
  return jnp.concatenate([states, jnp.ones((states.shape[0], 1), states.dtype)], axis=1) @ w
