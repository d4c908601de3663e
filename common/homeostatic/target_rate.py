"""Target-firing-rate adaptation of excitation/inhibition (after "Boosting Reservoir Computing with Brain-inspired
Adaptive Dynamics", Srinivasan, Plenz & Girvan).

Each neuron i scales its incoming inhibition by its own gain g_i. After every time step the gain moves toward
the value that makes the neuron fire at its target rate:

    g_i <- max(0, g_i + eta * (r_i(t) - target_i))

A neuron that fires above target receives more inhibition, one below target less: a local, homeostatic rule
that needs no global tuning of the E/I ratio. Targets can be homogeneous (one rate for all) or heterogeneous
(drawn per neuron), the paper's "brain-inspired heterogeneity".

Deviation, stated: the seed's abstract names the mechanism (local E/I adjustment toward target rates, optional
heterogeneity) but its code was not available here; this gain-on-inhibition form with a rectified-tanh rate
neuron is our reading of it (research notes, seeds_catalog.md F1).
"""

import jax
import jax.numpy as jnp
import numpy as np

from common.train.errors import ConfigurationError

TARGET_KINDS = ('homogeneous', 'heterogeneous')


def adapt_gain(gain: jax.Array, rate: jax.Array, target: jax.Array, eta: float) -> jax.Array:
  """One step of the rule above. Shapes: gain, rate, target (N,) -> (N,)."""
  return jnp.maximum(gain + eta * (rate - target), 0.0)


def make_targets(size: int, mean_rate: float, kind: str = 'homogeneous', spread: float = 0.5, seed: int = 0):
  """Per-neuron target rates, shape (size,).

  homogeneous: every neuron targets `mean_rate`. heterogeneous: log-normal rates with median `mean_rate` and
  log-std `spread`, clipped to (0, 0.95] (rates of the rectified-tanh neuron live in [0, 1)).
  """
  if kind not in TARGET_KINDS:
    raise ConfigurationError(f'make_targets.kind={kind!r} is unknown; choose one of {TARGET_KINDS}.')
  if not 0 < mean_rate < 1:
    raise ConfigurationError(f'make_targets.mean_rate={mean_rate} must lie in (0, 1).')
  if kind == 'homogeneous':
    return jnp.full((size,), mean_rate, jnp.float32)
  rates = mean_rate * np.exp(spread * np.random.default_rng(seed).standard_normal(size))
  return jnp.asarray(np.clip(rates, 1e-3, 0.95), jnp.float32)
