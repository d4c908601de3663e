"""k-winners-take-all with duty-cycle boosting, as Numenta defines it (nupic.torch `KWinners`).

Forward: per example, the k units with the largest *boosted* activation win and keep their *original* value;
all others are set to 0. Boost factors favour units that have been winning less often than the target density:

  boost = exp((k / n - duty_cycle) * boost_strength)

Duty cycles: a running average of how often each unit is active (> 0) after the k-WTA, updated in training
over an effective period that grows with the number of examples seen, up to `duty_cycle_period`:

  seen += B;  period = min(duty_cycle_period, seen)
  duty_cycle = (duty_cycle * (period - B) + sum_b [y_b > 0]) / period

The duty cycles and the counter live in the non-parameter collection 'duty_cycles': they are model state kept
across steps and updated only when that collection is mutable and `train=True`. At inference k is multiplied by
`k_inference_factor` (Numenta's default 1.5; the active-dendrites experiments use 1.0).

Deviation: Numenta multiplies boost_strength by `boost_strength_factor` once per epoch; here the decay is
applied per training step (set the factor to factor_per_epoch ** (1 / steps_per_epoch) to match), and the
current strength is kept in the same collection.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

from common.train.errors import ConfigurationError

DUTY_CYCLES = 'duty_cycles'


def resolve_k(n: int, *, k: int | None, percent_on: float | None, name: str = 'k') -> int:
  """The number of winners from `k` or `percent_on`; raises ConfigurationError when out of range."""
  if (k is None) == (percent_on is None):
    raise ConfigurationError(f'set exactly one of {name} (got {k}) and percent_on (got {percent_on}).')
  if percent_on is not None:
    if not 0.0 < percent_on <= 1.0:
      raise ConfigurationError(f'percent_on={percent_on} must be in (0, 1].')
    k = max(1, round(percent_on * n))
  if not 1 <= k <= n:
    raise ConfigurationError(f'{name}={k} must be between 1 and the layer width n={n}; lower {name}.')
  return int(k)


def top_k_mask(x: jax.Array, k: int) -> jax.Array:
  """{0,1} mask of the k largest entries along the last axis (exactly k, ties broken by position)."""
  idx = jax.lax.top_k(x, k)[1]
  return jnp.sum(jax.nn.one_hot(idx, x.shape[-1], dtype=x.dtype), axis=-2)


class KWinners(nn.Module):
  """Per-example k-WTA with duty-cycle boosting. Shapes: (B, n) -> (B, n).

  Attributes:
    k: number of winners (or give percent_on instead).
    percent_on: fraction of winners.
    k_inference_factor: k is multiplied by this at inference (capped at n).
    boost_strength: initial boost strength (0 disables boosting).
    boost_strength_factor: per-step multiplicative decay of the boost strength.
    duty_cycle_period: the averaging period of the duty cycles, in examples.
  """

  k: int | None = None
  percent_on: float | None = None
  k_inference_factor: float = 1.0
  boost_strength: float = 1.0
  boost_strength_factor: float = 1.0
  duty_cycle_period: int = 1000

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    if x.ndim != 2:
      raise ConfigurationError(f'KWinners expects (B, n) inputs; got shape {x.shape}.')
    n = x.shape[-1]
    k = resolve_k(n, k=self.k, percent_on=self.percent_on)
    if self.boost_strength < 0:
      raise ConfigurationError(f'boost_strength={self.boost_strength} must be non-negative.')
    if self.duty_cycle_period < 1:
      raise ConfigurationError(f'duty_cycle_period={self.duty_cycle_period} must be at least 1.')
    duty = self.variable(DUTY_CYCLES, 'duty_cycle', jnp.zeros, (n,), jnp.float32)
    seen = self.variable(DUTY_CYCLES, 'examples_seen', jnp.zeros, (), jnp.float32)
    strength = self.variable(DUTY_CYCLES, 'boost_strength', lambda: jnp.asarray(self.boost_strength, jnp.float32))

    k_now = k if train else min(n, max(1, round(k * self.k_inference_factor)))
    if self.boost_strength > 0:
      boosted = x * jnp.exp((k / n - duty.value) * strength.value)
    else:
      boosted = x
    mask = top_k_mask(jax.lax.stop_gradient(boosted), k_now)
    y = x * mask

    if train and self.is_mutable_collection(DUTY_CYCLES) and not self.is_initializing():
      batch = x.shape[0]
      seen.value = seen.value + batch
      period = jnp.minimum(float(self.duty_cycle_period), seen.value)
      active = jnp.sum((y > 0).astype(jnp.float32), axis=0)
      duty.value = (duty.value * (period - batch) + active) / period
      strength.value = strength.value * self.boost_strength_factor
    return y
