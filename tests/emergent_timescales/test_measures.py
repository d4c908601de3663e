"""Timescale measurements and robustness manipulations on known signals and a small model."""

import jax
import jax.numpy as jnp
import numpy as np

from common.dendritic import LeakyRNN, SequenceModel
from projects.emergent_timescales import measures
from projects.emergent_timescales.tasks import MemoryTask

KEY = jax.random.PRNGKey(1)


def _ar1(phi, streams=40, length=2000, units=1, seed=0):
  rng = np.random.default_rng(seed)
  x = np.zeros((streams, length, units))
  for t in range(1, length):
    x[:, t] = phi * x[:, t - 1] + rng.standard_normal((streams, units))
  return jnp.asarray(x, jnp.float32)


def test_autocorrelation_and_timescale_of_an_ar1_process():
  phi = np.exp(-1 / 8.0)  # an AR(1) process has autocorrelation phi^lag: timescale 8 steps
  ac = measures.autocorrelation(_ar1(phi), max_lag=30)
  np.testing.assert_allclose(ac[:6, 0], phi ** np.arange(6), atol=0.03)
  tau = measures.exponential_timescale(ac, min_lag=1, floor=0.05)
  assert abs(float(tau[0]) - 8.0) < 1.0
  fast = measures.exponential_timescale(measures.autocorrelation(_ar1(np.exp(-1 / 2.0)), 30))
  assert float(fast[0]) < 3.0
  silent = measures.autocorrelation(jnp.ones((3, 50, 1)), 5)
  assert np.isnan(np.asarray(measures.exponential_timescale(silent))).all()


def test_ablation_perturbation_and_taus():
  model = SequenceModel(core=LeakyRNN(hidden=6), out=2)
  x = jnp.ones((2, 5, 1))
  p = jax.jit(model.init)(KEY, x)['params']
  taus = measures.neuron_taus(p)
  longest = measures.units_by_tau(taus, 2)
  assert set(longest) == set(np.argsort(np.asarray(taus))[-2:])
  ab = measures.ablate_units(p, longest)
  w = np.asarray(ab['core']['recurrent_kernel'])
  assert np.all(w[longest] == 0) and np.all(w[:, longest] == 0)
  assert np.all(np.asarray(ab['head']['kernel'])[longest] == 0)
  assert np.any(np.asarray(p['core']['recurrent_kernel'])[longest] != 0)  # the original is untouched
  pert = measures.perturb_recurrent(p, KEY, 0.1)
  delta = pert['core']['recurrent_kernel'] - p['core']['recurrent_kernel']
  np.testing.assert_allclose(jnp.linalg.norm(delta), 0.1 * jnp.linalg.norm(p['core']['recurrent_kernel']), rtol=1e-5)
  assert np.all(np.asarray(measures.perturb_taus(p, KEY, 0.5)['core']['tau']) >= np.asarray(p['core']['tau']))


def test_activity_recording_and_head_accuracies():
  core = LeakyRNN(hidden=4)
  p = jax.jit(core.init)(KEY, jnp.zeros((1, 3, 1)))['params']
  act = measures.record_activity(core, p, KEY, num_streams=3, length=40, warmup=10)
  assert act.shape == (3, 40, 4)
  task = MemoryTask(ns=(2, 3), batch_size=32)
  model = SequenceModel(core=core, out=4)
  params = jax.jit(model.init)(KEY, task.init_inputs())['params']
  acc = measures.head_accuracies(model, params, task, KEY, num_batches=2)
  assert acc.shape == (2,) and np.all((acc >= 0) & (acc <= 1))
