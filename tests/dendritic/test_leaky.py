"""The shared leaky primitive and LeakyRNN against a per-step NumPy transcription of the paper's update."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common.dendritic import LeakyRNN, SequenceModel
from common.dendritic.leaky import clamp_timescale, decay_factor, leaky_trace, leaky_update
from common.train.errors import ConfigurationError

KEY = jax.random.PRNGKey(0)


def test_leaky_update_is_the_euler_step_and_tau_one_forgets():
  r, u = jnp.array([1.0, 2.0]), jnp.array([3.0, -1.0])
  np.testing.assert_allclose(leaky_update(r, u, 4.0), 0.75 * r + 0.25 * u, rtol=1e-6)
  np.testing.assert_allclose(leaky_update(r, u, 1.0), u)
  np.testing.assert_allclose(decay_factor(2.0), np.exp(-0.5), rtol=1e-6)
  g = jax.grad(lambda t: jnp.sum(clamp_timescale(t)))(jnp.array([0.5, 2.0]))
  np.testing.assert_array_equal(g, [0.0, 1.0])  # no gradient below the floor, as torch.clamp
  x = jnp.ones((1, 4, 1))
  np.testing.assert_allclose(leaky_trace(x, 0.5)[0, :, 0], [1, 1.5, 1.75, 1.875])


def _reference(p, x, placement, min_tau=1.0):
  """The update written per step in float64 (LeakyReLU 0.01, zero diagonal, tau clamped at min_tau)."""
  p = {k: np.asarray(v, np.float64) for k, v in p.items()}
  f = lambda z: np.where(z > 0, z, 0.01 * z)  # noqa: E731
  w_rec = p['recurrent_kernel'] * (1 - np.eye(len(p['tau'])))
  tau = np.maximum(p['tau'], min_tau)
  r = np.zeros((x.shape[0], len(tau)))
  out = []
  for t in range(x.shape[1]):
    u = r @ w_rec + p['recurrent_bias'] + x[:, t] @ p['input_kernel'] + p['input_bias']
    r = f((1 - 1 / tau) * r + u / tau) if placement == 'outside' else (1 - 1 / tau) * r + f(u) / tau
    out.append(r)
  return np.stack(out, 1)


@pytest.mark.parametrize('placement', ['outside', 'inside'])
def test_leaky_rnn_matches_per_step_equations(placement):
  core = LeakyRNN(hidden=5, placement=placement)
  x = jax.random.bernoulli(KEY, 0.5, (3, 12, 2)).astype(jnp.float32)
  v = core.init(KEY, x)
  params = dict(v['params'])
  params['tau'] = jnp.array([0.5, 1.0, 2.0, 7.0, 30.0])  # one below the floor
  np.testing.assert_allclose(core.apply({'params': params}, x), _reference(params, np.asarray(x), placement), atol=2e-6)
  np.testing.assert_allclose(core.apply({'params': params}, method='timescales'), [1, 1, 2, 7, 30])


def test_initial_taus_and_fixed_taus_and_gradients():
  x = jnp.zeros((2, 6, 1))
  v = jax.jit(LeakyRNN(hidden=64).init)(KEY, x)
  tau = np.asarray(v['params']['tau'])
  assert 1.0 <= tau.min() and tau.max() < 2.0 and tau.std() > 0.1  # 1 + U(0, 1), as the authors
  assert 'tau' not in jax.eval_shape(LeakyRNN(hidden=4, learn_tau=False, tau_init=3.0).init, KEY, x)['params']
  model = SequenceModel(core=LeakyRNN(hidden=8, tau_init=2.0), out=2)
  xs = jax.random.bernoulli(KEY, 0.5, (4, 10, 1)).astype(jnp.float32)
  p = jax.jit(model.init)(KEY, xs)['params']
  g = jax.jit(jax.grad(lambda p: jnp.sum(model.apply({'params': p}, xs) ** 2)))(p)
  assert np.all(np.isfinite(g['core']['tau'])) and np.any(g['core']['tau'] != 0)
  assert np.all(np.diag(np.asarray(g['core']['recurrent_kernel'])) == 0)  # no self-connections


def test_bad_configuration_names_the_parameter():
  with pytest.raises(ConfigurationError, match='placement'):
    LeakyRNN(placement='middle')
  with pytest.raises(ConfigurationError, match='activation'):
    LeakyRNN(activation='swish')
  with pytest.raises(ConfigurationError, match='tau_init'):
    LeakyRNN(tau_init=0.5)
