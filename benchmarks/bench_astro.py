"""Liquid-state-machine speed: reservoir time steps per second, our lax.scan simulation against a plain NumPy loop of
the same network (same wiring, same step, same order of operations, same storage), float32 on CPU, in one run.

Network: the NALSM release's 1000-neuron liquid (10x10x10, 80 % excitatory) with 64 input neurons (digits), driven
by Poisson events for 250 steps (one 250-ms presentation). Workloads: (1) the frozen liquid, one network (both step
through the dense (N, M) matrix: on this CPU one matvec beat gathering the (N, K) synapse slots, 22 vs 76 ms in our
runs); (2) the same with astrocyte-modulated STDP on all ~26,000 synapses every step (both on the slots); (3) the
frozen liquid, 32 examples at once (ours vmapped into one GEMM per step, NumPy the same matmul).

ours_ms / peer_ms are milliseconds per 250-step presentation (the NumPy loop is timed once: it has no compile to
amortise). `extra` has network time steps per second and the fraction of equal spike counts (float32 sums in a
different order can flip a spike at threshold, after which the trajectories differ).

  .venv/bin/python -m benchmarks.bench_astro [--quick]
"""

import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import harness
from common.homeostatic import astro
from common.homeostatic import lif_reservoir as lsm

STEPS, INPUTS, BATCH = 250, 64, 32


def numpy_present(cfg, pcfg, net, events):
  """A plain NumPy loop over steps (float32), the same operations as lif_reservoir.present; events (T, B, D).

  Same layout choices as ours: a frozen liquid steps through the dense (N, M) matrix (one matmul per step), a
  plastic one through the (N, K) synapse slots with fancy indexing."""
  pre, valid, lo, hi, inh = net['pre'], net['valid'], net['lo'], net['hi'], net['inhibitory']
  n, m = pre.shape[0], len(inh)
  b = events.shape[1]
  plastic = pcfg.mode != 'none'
  dense = lsm.to_dense(net).astype(np.float32)
  w = np.broadcast_to(net['weights'], (b,) + pre.shape).copy()
  v, ref, syn, x = (np.zeros((b, m), np.float32) for _ in range(4))
  eta, a = np.float32(pcfg.ltp_rate), np.full((b, 1, 1), pcfg.ltp_rate, np.float32)
  k_syn, k_stdp = np.float32(np.exp(-1 / cfg.tau_syn)), np.float32(np.exp(-1 / pcfg.stdp_tau))
  inh_pre = inh[pre]
  counts = np.zeros((b, m), np.float32)
  for e in events:
    s = ((ref <= 0) & (v >= cfg.threshold)).astype(np.float32)
    v = v * (1 - s)
    syn = s + (1 - s) * k_syn * syn
    rec = (w * syn[:, pre]).sum(-1) if plastic else syn @ dense.T
    v = v + np.concatenate([rec / cfg.tau_syn, cfg.input_current * e], 1) + cfg.bias - v / cfg.tau_v
    ref = np.where(s > 0, np.float32(cfg.refractory), np.maximum(ref - 1, 0))
    if plastic:
      lr_pre = np.where(inh_pre, -a, eta)
      lr_post = np.where(inh_pre, eta, -a)
      dw = s[:, :n, None] * lr_pre * x[:, pre] + x[:, :n, None] * lr_post * s[:, pre]
      w = np.clip(w + dw, lo, hi) * valid
      x = k_stdp * (pcfg.trace_amplitude * s + x)
      drive = pcfg.astro_weight * (s[:, :n].sum(1) - s[:, n:].sum(1)) + pcfg.ltp_rate
      a = a + (drive[:, None, None] - a) / pcfg.astro_tau
    counts += s
  return counts


def ours_fn(cfg, pcfg, dense):
  @jax.jit
  def present(net, events):  # events (B, T, D); the network is an argument, as the model's variables are
    def one(ev):
      plastic = lsm.Plastic(net['weights'], jnp.zeros(net['inhibitory'].shape[0]), astro.initial_rates(pcfg))
      return jnp.sum(lsm.present(cfg, pcfg, net, plastic, ev, dense=dense)[1], 0)

    return jax.vmap(one)(events)

  return present


def run(quick: bool = False) -> list[harness.Row]:
  repeats = 2 if quick else 5
  cfg = lsm.LSMConfig()
  net = lsm.build_network(cfg, INPUTS, seed=0)
  jnet = {k: jnp.asarray(net[k]) for k in ('weights', 'pre', 'valid', 'lo', 'hi', 'inhibitory')}
  rng = np.random.default_rng(0)
  load_before = os.getloadavg()[0]
  rows = []
  for name, mode, batch in (('frozen', 'none', 1), ('astro-STDP', 'astro', 1), ('frozen', 'none', BATCH)):
    pcfg = astro.PlasticityConfig(mode=mode)
    events = (rng.random((batch, STEPS, INPUTS)) < 0.1).astype(np.float32)
    present = ours_fn(cfg, pcfg, dense=True)  # frozen: the dense matrix (measured faster than slot gathers on CPU)
    ev = jnp.asarray(events)
    ours_ms = harness.time_fn(lambda p=present, e=ev: p(jnet, e), warmup=1, repeats=repeats)
    ours_counts = np.asarray(present(jnet, ev))
    t0 = time.perf_counter()
    peer_counts = numpy_present(cfg, pcfg, net, np.swapaxes(events, 0, 1))
    peer_ms = (time.perf_counter() - t0) * 1e3  # one pass: the loop is slow and has no compile to amortise
    agree = float(np.mean(ours_counts == peer_counts))
    extra = {
      'ours_steps_per_s': round(STEPS * batch / (ours_ms / 1e3)),
      'numpy_steps_per_s': round(STEPS * batch / (peer_ms / 1e3)),
      'spike_counts_equal_fraction': round(agree, 4),
    }
    rows.append(
      harness.Row(
        f'LSM 1000+64 neurons, 250 steps, {name}, B={batch}',
        ours_ms,
        'NumPy loop',
        peer_ms,
        f'{extra["ours_steps_per_s"]} vs {extra["numpy_steps_per_s"]} network-steps/s',
        extra,
      )
    )
  for r in rows:
    r.extra['load_average_1min'] = f'{load_before:.2f} -> {os.getloadavg()[0]:.2f}'
  return rows


if __name__ == '__main__':
  rows = run(quick='--quick' in sys.argv)
  print(harness.format_table(rows))
  harness.write_json(rows, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'results', 'astro.json'))
