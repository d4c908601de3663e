import jax.numpy as jnp
import numpy as np
import pytest

from common.data.synthetic import timeseries
from common.homeostatic import reservoir, target_rate
from common.train.errors import ConfigurationError

CFG = reservoir.ReservoirConfig(size=60, connectivity=0.2)


def test_gain_rule_moves_toward_target_and_stays_non_negative():
  g = target_rate.adapt_gain(jnp.array([1.0, 1.0, 0.01]), jnp.array([0.5, 0.1, 0.0]), jnp.full(3, 0.3), 0.1)
  np.testing.assert_allclose(g, [1.02, 0.98, 0.0], atol=1e-6)


def test_targets():
  np.testing.assert_allclose(target_rate.make_targets(5, 0.2), 0.2)
  het = np.asarray(target_rate.make_targets(2000, 0.2, 'heterogeneous', 0.5, seed=1))
  assert abs(np.median(het) - 0.2) < 0.02 and het.std() > 0.05 and het.max() <= 0.95
  with pytest.raises(ConfigurationError, match='kind'):
    target_rate.make_targets(5, 0.2, 'bimodal')
  with pytest.raises(ConfigurationError, match='mean_rate'):
    target_rate.make_targets(5, 1.5)


@pytest.mark.parametrize('radius', [float('inf'), float('nan'), -0.5])
def test_spectral_radius_must_be_finite_and_positive(radius):
  with pytest.raises(ConfigurationError, match='spectral_radius'):
    reservoir.ReservoirConfig(spectral_radius=radius)


def test_dale_balance_and_spectral_radius():
  w = reservoir.init_reservoir(CFG, 1, seed=0)
  n_exc = 48
  exc, inh = np.asarray(w['w_exc']), np.asarray(w['w_inh'])
  assert (exc >= 0).all() and (inh >= 0).all()
  assert not exc[:, n_exc:].any() and not inh[:, :n_exc].any()
  np.testing.assert_allclose(exc.sum(), inh.sum(), rtol=1e-4)
  np.testing.assert_allclose(np.max(np.abs(np.linalg.eigvals(exc - inh))), CFG.spectral_radius, rtol=1e-3)


def test_inhibition_lowers_rates_and_adaptation_reaches_targets():
  w = reservoir.init_reservoir(CFG, 1, seed=0)
  u = jnp.asarray(timeseries.uniform_input(3000, seed=0))[:, None]
  ones = jnp.ones(CFG.size)
  low, _ = reservoir.run(w, u, leak=1.0, inhibition_scale=0.5, gain=ones)
  high, _ = reservoir.run(w, u, leak=1.0, inhibition_scale=2.0, gain=ones)
  assert low.shape == (3000, CFG.size) and float(jnp.max(low)) < 1.0 and float(jnp.min(low)) >= 0.0
  assert float(high.mean()) < float(low.mean())
  targets = target_rate.make_targets(CFG.size, 0.25, 'heterogeneous', 0.3, seed=0)
  _, gain = reservoir.run(w, u, leak=1.0, inhibition_scale=1.0, gain=ones, targets=targets, adapt_rate=0.05)
  rates, _ = reservoir.run(w, u, leak=1.0, inhibition_scale=1.0, gain=gain)
  per_neuron = np.asarray(rates[500:].mean(0))
  reachable = np.asarray(gain) > 0  # a neuron with gain 0 cannot lower inhibition any further
  err = np.abs(per_neuron - np.asarray(targets))[reachable]
  assert reachable.mean() > 0.8 and np.median(err) < 0.05


def test_ridge_readout_recovers_a_linear_map():
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.normal(size=(200, 5)), jnp.float32)
  w_true = jnp.asarray(rng.normal(size=(5, 2)), jnp.float32)
  w = reservoir.ridge_fit(x, x @ w_true + 0.5, 1e-6)
  np.testing.assert_allclose(reservoir.ridge_predict(x, w), x @ w_true + 0.5, atol=1e-3)


def test_series_are_seeded_and_bounded():
  a, b = timeseries.mackey_glass(300, seed=1), timeseries.mackey_glass(300, seed=1)
  np.testing.assert_array_equal(a, b)
  assert 0.2 < a.min() and a.max() < 1.5 and a.std() > 0.1
  u, y = timeseries.narma10(500, seed=0)
  assert u.shape == y.shape == (500,) and np.isfinite(y).all() and 0 <= u.min() and u.max() <= 0.5
