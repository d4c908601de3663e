"""Tests for common/spiking: surrogate spikes, LIF dynamics over time, Poisson encoding."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common.spiking import LIF, beta_from_tau, lif_scan, poisson_encode, rate_decode, spike, surrogate_grad
from common.spiking.surrogate import SURROGATES
from common.train.errors import ConfigurationError


@pytest.mark.parametrize('name', SURROGATES)
def test_spike_is_exact_step_with_surrogate_gradient(name):
  x = jnp.array([-1.0, -0.01, 0.0, 0.01, 1.0])
  np.testing.assert_array_equal(spike(x, name, 5.0), [0, 0, 0, 1, 1])
  grads = jax.vmap(jax.grad(lambda v: spike(v, name, 5.0)))(x)
  np.testing.assert_allclose(grads, surrogate_grad(x, name, 5.0), rtol=1e-6)
  # The surrogate peaks at the threshold and is symmetric.
  assert grads[2] >= grads[1] > 0 or name == 'triangle'
  np.testing.assert_allclose(grads[1], grads[3], rtol=1e-6)


def test_lif_matches_python_reference():
  key = jax.random.PRNGKey(0)
  currents = jax.random.uniform(key, (2, 12, 3), minval=0.0, maxval=0.7)
  beta = 0.8
  out = lif_scan(currents, beta=beta, threshold=1.0, reset='subtract')
  c = np.asarray(currents)
  v = np.zeros((2, 3))
  spikes, volts = [], []
  for t in range(12):
    v = beta * v + c[:, t]
    s = (v - 1.0 > 0).astype(np.float32)
    v = v - s
    spikes.append(s)
    volts.append(v)
  np.testing.assert_allclose(out.spikes, np.stack(spikes, 1))
  np.testing.assert_allclose(out.voltages, np.stack(volts, 1), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(out.final_voltage, v, rtol=1e-5, atol=1e-6)
  assert float(out.spikes.sum()) > 0


def test_lif_zero_reset_and_constant_input_rate():
  # Constant current 0.5 with beta=1 (no leak) and zero reset: spikes every 3rd step (1.5 > 1).
  currents = jnp.full((1, 9, 1), 0.5)
  out = lif_scan(currents, beta=1.0, reset='zero')
  np.testing.assert_array_equal(out.spikes[0, :, 0], [0, 0, 1, 0, 0, 1, 0, 0, 1])


def test_lif_gradient_flows_through_time():
  currents = jnp.full((1, 20, 4), 0.3)

  def loss(scale):
    return lif_scan(currents * scale, beta=0.9).spikes.sum()

  g = jax.grad(loss)(1.0)
  assert np.isfinite(g) and g > 0


def test_lif_module_learn_tau_and_jit():
  model = LIF(tau=5.0, learn_tau=True)
  x = jnp.ones((2, 6, 3)) * 0.4
  variables = model.init(jax.random.PRNGKey(0), x)
  np.testing.assert_allclose(1 + jnp.exp(variables['params']['log_tau_minus_1']), 5.0, rtol=1e-5)
  s = jax.jit(model.apply)(variables, x)
  assert s.shape == (2, 6, 3)
  ref = lif_scan(x, beta=beta_from_tau(5.0)).spikes
  np.testing.assert_allclose(s, ref)
  g = jax.grad(lambda p: model.apply({'params': p}, x).sum())(variables['params'])
  assert np.all(np.isfinite(g['log_tau_minus_1']))


def test_poisson_rates_and_shape():
  key = jax.random.PRNGKey(1)
  x = jnp.array([[0.0, 0.25, 1.0, 2.0]])
  s = poisson_encode(key, jnp.repeat(x, 500, 0), 40, max_prob=0.5)
  assert s.shape == (500, 40, 4)
  assert set(np.unique(np.asarray(s))) <= {0.0, 1.0}
  rates = np.asarray(rate_decode(s).mean(0))
  np.testing.assert_allclose(rates, [0.0, 0.125, 0.5, 0.5], atol=0.01)  # 2.0 is clipped to 1.
  np.testing.assert_array_equal(poisson_encode(key, x, 5), poisson_encode(key, x, 5))


@pytest.mark.parametrize(
  'call, word',
  [
    (lambda: lif_scan(jnp.ones((1, 2, 1)), beta=0.9, reset='bogus'), 'reset'),
    (lambda: lif_scan(jnp.ones((1, 2, 1)), beta=0.9, threshold=0.0), 'threshold'),
    (lambda: lif_scan(jnp.ones((1, 2, 1)), beta=0.9, surrogate='nope'), 'surrogate'),
    (lambda: LIF(tau=-1.0).init(jax.random.PRNGKey(0), jnp.ones((1, 2, 1))), 'tau'),
    (lambda: poisson_encode(jax.random.PRNGKey(0), jnp.ones((1, 2)), 0), 'num_steps'),
    (lambda: poisson_encode(jax.random.PRNGKey(0), jnp.ones((1, 2)), 3, max_prob=1.5), 'max_prob'),
  ],
)
def test_bad_input_names_parameter(call, word):
  with pytest.raises(ConfigurationError, match=word):
    call()
