"""ELM / Branch-ELM against a per-step reference; timescale bounds; baselines; bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common.dendritic import ELM, GRU, LSTM, SequenceModel, parameter_matched_hidden
from common.dendritic.elm import branch_routing, scaled_tanh
from common.dendritic.recurrent import rnn_param_count
from common.train.errors import ConfigurationError
from common.train.state import count_params

KEY = jax.random.PRNGKey(0)


def _reference(params, x, *, num_branches, tau_s, lam, tau_min, tau_max):
  """The per-step ELM equations written naively (one loop over time, the MLP on the concatenation)."""
  p = jax.tree_util.tree_map(np.asarray, params)
  x = np.asarray(x)
  w_s = np.maximum(p['synapse_weight'], 0)
  tau_m = tau_min + (tau_max - tau_min) / (1 + np.exp(-p['tau_rho']))
  k_m, gain, k_s = np.exp(-1 / tau_m), 1 - np.exp(-lam / tau_m), np.exp(-1 / tau_s)
  route = branch_routing(x.shape[-1], num_branches) if num_branches else np.eye(x.shape[-1])
  s = np.zeros((x.shape[0], route.shape[1]))
  m = np.zeros((x.shape[0], tau_m.size))
  out = []
  for t in range(x.shape[1]):
    s = k_s * s + (w_s * x[:, t]) @ route
    h = np.concatenate([s, k_m * m], -1) @ p['mlp_0_kernel'] + p['mlp_0_bias']
    h = np.maximum(h, 0) @ p['mlp_1_kernel'] + p['mlp_1_bias']
    m = k_m * m + gain * np.asarray(scaled_tanh(h))
    out.append(m)
  return np.stack(out, 1)


@pytest.mark.parametrize('num_branches', [None, 3])
def test_elm_matches_per_step_equations(num_branches):
  layer = ELM(num_memory=4, num_branches=num_branches, tau_min=2.0, tau_max=50.0)
  x = jax.random.bernoulli(KEY, 0.3, (2, 15, 6)).astype(jnp.float32)
  v = layer.init(KEY, x)
  mem = layer.apply(v, x)
  ref = _reference(v['params'], x, num_branches=num_branches, tau_s=5.0, lam=5.0, tau_min=2.0, tau_max=50.0)
  np.testing.assert_allclose(mem, ref, rtol=1e-4, atol=1e-5)


def test_timescales_log_spaced_bounded_and_learnable():
  layer = ELM(num_memory=5, tau_min=1.0, tau_max=1000.0)
  x = jnp.ones((1, 3, 2))
  v = layer.init(KEY, x)
  tau = layer.apply(v, method='timescales')
  np.testing.assert_allclose(tau, np.logspace(0, 3, 5), rtol=1e-3)
  big = jax.tree_util.tree_map(lambda p: p, v)
  big['params']['tau_rho'] = v['params']['tau_rho'] + 100.0
  assert float(jnp.max(layer.apply(big, method='timescales'))) <= 1000.0
  g = jax.grad(lambda p: layer.apply({'params': p}, x).sum())(v['params'])
  assert np.all(np.isfinite(g['tau_rho']))
  frozen = ELM(num_memory=5, learn_tau=False).init(KEY, x)['params']
  assert 'tau_rho' not in frozen


def test_memory_with_long_timescale_holds_a_pulse():
  # A single input pulse, then silence: the slowest memory unit still carries it 200 steps later, the capped one not.
  x = jnp.zeros((1, 220, 1)).at[0, 0, 0].set(5.0)
  for tau_max, survives in ((1000.0, True), (5.0, False)):
    layer = ELM(num_memory=3, tau_min=1.0, tau_max=tau_max, learn_tau=False)
    v = layer.init(KEY, x)
    v['params']['mlp_0_kernel'] = v['params']['mlp_0_kernel'].at[1:].set(0.0)  # no memory feedback: a pure filter
    mem = np.asarray(layer.apply(v, x))
    drift = np.abs(mem[0, -1] - layer.apply(v, jnp.zeros_like(x))[0, -1])
    assert (drift.max() > 1e-3) == survives


def test_branch_elm_has_fewer_parameters():
  x = jnp.ones((1, 4, 64))
  full = count_params(ELM(num_memory=10).init(KEY, x)['params'])
  branch = count_params(ELM(num_memory=10, num_branches=8).init(KEY, x)['params'])
  assert branch < full / 2


def test_baselines_and_parameter_matching():
  x = jnp.ones((2, 7, 5))
  for kind, core in (('lstm', LSTM), ('gru', GRU)):
    h = parameter_matched_hidden(kind, 5, 3, 2000)
    model = SequenceModel(core(hidden=h), out=3)
    v = model.init(KEY, x)
    assert count_params(v['params']) == rnn_param_count(kind, 5, h, 3)
    assert abs(count_params(v['params']) - 2000) < 0.1 * 2000
    assert model.apply(v, x).shape == (2, 3)


@pytest.mark.parametrize(
  'build, word',
  [
    (lambda: ELM(tau_min=10.0, tau_max=5.0), 'tau_min'),
    (lambda: ELM(num_branches=9), 'num_branches'),
    (lambda: ELM(num_memory=0), 'num_memory'),
    (lambda: SequenceModel(LSTM(4), readout='first'), 'readout'),
  ],
)
def test_bad_input(build, word):
  with pytest.raises(ConfigurationError, match=word):
    build().init(KEY, jnp.ones((1, 3, 4)))
