"""Astrocyte-modulated STDP, the LIF liquid and the branching factor against small NumPy transcriptions of the NALSM
release's per-step operations (float64, explicit loops over synapses / spikes)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common.homeostatic import astro
from common.homeostatic import lif_reservoir as lsm
from common.train.errors import ConfigurationError

jax.config.update('jax_enable_x64', False)
RNG = np.random.default_rng(0)


def _stdp_loops(w, mask, s, x, inh, lo, hi, eta, a):
  """dW per synapse as the authors' gather form: pre-trace x post-spike and post-trace x pre-spike terms."""
  w = w.copy()
  n, m = w.shape
  for i in range(n):
    for j in range(m):
      if mask[i, j] == 0:
        continue
      lr_pre = -a if inh[j] else eta
      lr_post = eta if inh[j] else -a
      w[i, j] = np.clip(w[i, j] + lr_pre * x[j] * s[i] + lr_post * x[i] * s[j], lo[j], hi[j])
  return w * mask


def _slots(mask):
  """Dense (N, M) 0/1 wiring -> the (N, K) slot layout: pre indices and valid flags."""
  k = int(mask.sum(1).max())
  pre, valid = np.zeros((mask.shape[0], k), np.int32), np.zeros((mask.shape[0], k), np.float32)
  for i, row in enumerate(mask):
    idx = np.nonzero(row)[0]
    pre[i, : len(idx)], valid[i, : len(idx)] = idx, 1
  return pre, valid


def test_stdp_matches_per_synapse_loops():
  n, m = 5, 8
  mask = (RNG.random((n, m)) < 0.6).astype(np.float64)
  inh = np.array([0, 0, 0, 1, 1, 0, 0, 0], bool)  # reservoir 0..4 (3, 4 inhibitory), inputs 5..7
  lo = np.where(inh, -1.0, np.where(np.arange(m) >= n, -1.0, 0.0))
  hi = np.where(inh, 0.0, 1.0)
  w = np.clip(RNG.normal(0, 0.5, (n, m)), lo, hi) * mask
  s = (RNG.random(m) < 0.5).astype(np.float64)
  x = RNG.random(m)
  want = _stdp_loops(w, mask, s, x, inh, lo, hi, eta=0.15, a=0.4)
  pre, valid = _slots(mask)
  f = lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731
  got = astro.stdp_update(
    f(np.take_along_axis(w, pre, 1) * valid), f(valid), f(s[:n]), f(x[:n]), f(s[pre]), f(x[pre]),
    jnp.asarray(inh[pre]), f(lo[pre] * valid), f(hi[pre] * valid), 0.15, 0.4,
  )  # fmt: skip
  net = {'pre': pre, 'valid': valid, 'inhibitory': inh}
  np.testing.assert_allclose(lsm.to_dense(net, np.asarray(got)), want, atol=1e-6)


def test_trace_and_astrocyte_updates():
  x = astro.trace_update(jnp.array([0.5, 0.0]), jnp.array([1.0, 1.0]), 0.1, 0.9)
  np.testing.assert_allclose(x, [0.9 * 0.6, 0.9 * 0.1], rtol=1e-6)
  # A relaxes toward w (reservoir spikes - input spikes) + b with time constant tau.
  a = astro.astro_update(jnp.float32(0.15), jnp.ones(30), jnp.ones(10), 0.015, 0.15, 100.0)
  np.testing.assert_allclose(a, 0.15 + (0.015 * 20 + 0.15 - 0.15) / 100, rtol=1e-6)
  assert float(astro.astro_update(jnp.float32(0.15), jnp.zeros(30), jnp.ones(10), 0.015, 0.15, 100.0)) < 0.15
  with pytest.raises(ConfigurationError, match='mode'):
    astro.PlasticityConfig(mode='bcm')


def _simulate_numpy(cfg, pcfg, net, events):
  """The authors' step order with their state variables: time since each neuron's last spike (ss, reset to 0 by a
  spike, +1 per step) instead of the kernel recursion; float64."""
  w = lsm.to_dense(net)
  mask, inh = lsm.to_dense(net, np.ones_like(net['valid'])), net['inhibitory']
  lo = np.where(inh | net['is_input'], -cfg.max_weight, 0.0)
  hi = np.where(inh, 0.0, cfg.max_weight)
  n, m = w.shape
  v, ref, ss, x = np.zeros(m), np.zeros(m), np.full(m, 1e9), np.zeros(m)
  eta, a, wa, ba = pcfg.ltp_rate, pcfg.ltp_rate, pcfg.astro_weight, pcfg.ltp_rate * (1 + pcfg.astro_bias_offset)
  k = np.exp(-1 / pcfg.stdp_tau)
  spikes = []
  for e in events:
    s = ((ref <= 0) & (v >= cfg.threshold)).astype(np.float64)
    v = v * (1 - s)
    ss = np.where(s > 0, 0.0, ss)
    current = np.exp(-ss / cfg.tau_syn) / cfg.tau_syn
    drive = np.concatenate([w @ current, cfg.input_current * e])
    v = v + drive + cfg.bias - v / cfg.tau_v
    ss = ss + 1
    ref = np.where(s > 0, cfg.refractory, np.maximum(ref - 1, 0))
    if pcfg.mode != 'none':
      w = _stdp_loops(w, mask, s, x, inh, lo, hi, eta, a if pcfg.mode == 'astro' else eta)
      x = k * (pcfg.trace_amplitude * s + x)
      if pcfg.mode == 'astro':
        a = a + (wa * (s[:n].sum() - s[n:].sum()) + ba - a) / pcfg.astro_tau
      eta, a, wa, ba = (r * pcfg.rate_decay for r in (eta, a, wa, ba))
    spikes.append(s)
  return np.stack(spikes), w


@pytest.mark.parametrize('mode', ['none', 'stdp', 'astro'])
def test_simulation_matches_numpy_transcription(mode):
  cfg = lsm.LSMConfig(grid=(3, 3, 2), wiring_length=2.0, input_density=0.4, threshold=2.0, tau_v=8.0)
  pcfg = astro.PlasticityConfig(mode=mode, ltp_rate=0.05, astro_weight=0.05, rate_decay=0.99)
  net = lsm.build_network(cfg, 4, seed=1)
  net['weights'] = (net['weights'] * RNG.uniform(0.2, 0.6, net['weights'].shape)).astype(np.float32)  # no ties
  events = (RNG.random((40, 4)) < 0.3).astype(np.float32)
  want_spikes, want_w = _simulate_numpy(cfg, pcfg, net, events)
  jnet = {k: jnp.asarray(v) for k, v in net.items()}
  jnet_w = jnet['weights']
  plastic = lsm.Plastic(jnet_w, jnp.zeros(22), astro.initial_rates(pcfg))
  jnet = {k: jnet[k] for k in ('pre', 'valid', 'lo', 'hi', 'inhibitory')}
  plastic, spikes = jax.jit(lambda p, e: lsm.present(cfg, pcfg, jnet, p, e))(plastic, jnp.asarray(events))
  assert want_spikes[:, :18].sum() > 10  # the liquid is active
  np.testing.assert_array_equal(spikes, want_spikes)
  np.testing.assert_allclose(lsm.to_dense(net, np.asarray(plastic.weights)), want_w, atol=1e-5)
  if mode == 'none':  # a frozen liquid stepped through its slots instead of the dense matrix: the same spikes
    start = lsm.Plastic(jnet_w, jnp.zeros(22), astro.initial_rates(pcfg))
    _, slots = jax.jit(lambda p, e: lsm.present(cfg, pcfg, jnet, p, e, dense=False))(start, jnp.asarray(events))
    np.testing.assert_array_equal(slots, want_spikes)


def _branching_loops(spikes, mask, window, buffer):
  """compute_branching_factor.py per spike: ancestors in [t - dt, t), descendants in [t + 1, t + 1 + dt)."""
  t_len, n = spikes.shape
  s = spikes.copy()
  s[:buffer] = 0
  s[t_len - buffer :] = 0
  per = []
  for i in range(n):
    pre, post = np.nonzero(mask[i])[0], np.nonzero(mask[:, i])[0]
    ratios = []
    for t in range(buffer + window, t_len - buffer - window):
      if s[t, i]:
        anc = s[t - window : t][:, pre].sum()
        desc = s[t + 1 : t + 1 + window][:, post].sum()
        ratios.append(desc / max(anc, 1.0))
    per.append(np.mean(ratios) if ratios else np.nan)
  return np.nanmean(per), np.array(per)


def test_branching_factor_matches_per_spike_loops():
  spikes = (RNG.random((90, 12)) < 0.15).astype(np.float32)
  mask = (RNG.random((12, 12)) < 0.4).astype(np.float32)
  np.fill_diagonal(mask, 0)
  want, want_per = _branching_loops(spikes, mask, 4, 10)
  got, per = lsm.branching_factor(jnp.asarray(spikes), jnp.asarray(mask), window=4, buffer=10)
  np.testing.assert_allclose(per, want_per, rtol=1e-6)
  np.testing.assert_allclose(got, want, rtol=1e-6)


def test_network_wiring():
  cfg = lsm.LSMConfig(grid=(6, 6, 6))
  net = lsm.build_network(cfg, 10, seed=3)
  n = 216
  w, mask = lsm.to_dense(net), lsm.to_dense(net, np.ones_like(net['valid']))
  assert w.shape == (n, n + 10) and np.all(np.diag(mask[:, :n]) == 0)
  assert int(mask[:, n:].sum()) == int(n * 10 * 0.15)
  exc = ~net['inhibitory'][:n]
  assert exc.sum() == round(0.8 * n)
  assert np.all(w[:, :n][:, exc] >= 0) and np.all(w[:, :n][:, ~exc] <= 0)
  np.testing.assert_allclose(np.abs(w[mask > 0]), 3.0)
  np.testing.assert_array_equal(lsm.reservoir_mask(net), mask[:, :n])
  assert net['pre'].shape[1] == mask.sum(1).max() and net['valid'].sum() == mask.sum()
  d = np.sqrt(((net['coords'][:, None] - net['coords'][None]) ** 2).sum(-1))
  rec = mask[:, :n] > 0
  assert rec[d <= 1.5].mean() > 3 * rec[(d > 3) & (d < 5)].mean()  # connection probability falls with distance
  np.testing.assert_array_equal(lsm.build_network(cfg, 10, seed=3)['pre'], net['pre'])
  with pytest.raises(ConfigurationError, match='initial_weight'):
    lsm.LSMConfig(initial_weight=5.0)


def test_astrocyte_pulls_a_supercritical_liquid_down():
  cfg = lsm.LSMConfig(grid=(6, 6, 6))
  net = {k: jnp.asarray(v) for k, v in lsm.build_network(cfg, 16, seed=0).items()}
  events = lsm.poisson_events(jax.random.PRNGKey(0), jnp.full((1, 16), 0.3), 80)[0]
  out = {}
  for mode in ('none', 'astro'):
    pcfg = astro.PlasticityConfig(mode=mode)
    plastic = lsm.Plastic(net['weights'], jnp.zeros(232), astro.initial_rates(pcfg))
    plastic, spikes = jax.jit(lambda p, e, pcfg=pcfg: lsm.present(cfg, pcfg, net, p, e))(plastic, events)
    out[mode] = (float(spikes[40:, :216].mean()), float(plastic.rates.astro))
  assert out['astro'][0] < 0.85 * out['none'][0]  # depression grew and the liquid quietened
  assert out['astro'][1] > 0.2, out
