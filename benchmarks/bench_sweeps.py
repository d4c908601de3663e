"""Seeds as one vmapped program vs the same runs one after another, through the launcher's own API, on CPU.

8 runs of configs/baselines/digits_mlp.gin (MLP 64-256-256-10 on digits, batch 64), seeds 0..7. "ours" is
`launch --seeds=0,...,7` (launch/vmapped.execute_seeds: the run engine stacks the seeds and vmaps the step), on one
CPU device (the default) and with `--cpu_devices=K` (K = the cores, at most a divisor of 8: the engine splits the
members over K devices, one core each); "peer" is 8 plain runs (launch/api.execute with SEED=s, the default one
device), one after another in the same process, as a sweep without --vmap_trials pays them. Each side runs in a
fresh process (the device count is fixed when JAX starts), warmed first (imports, the dataset's first load), so
neither side pays process start-up. Both include everything a run does (validation, the build check, compilation,
metrics, checkpoints, final evaluation, curves), so the ratio is the throughput a researcher sees. The second pair
of rows times 8 trials that differ in learning rate and seed (`--vmap_trials`, one program with the optimizers
switched per member) against the same 8 trials run one after another.

  .venv/bin/python -m benchmarks.bench_sweeps [--quick]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from benchmarks import harness
from benchmarks.harness import Row

CONFIG = 'configs/baselines/digits_mlp.gin'
SEEDS = tuple(range(8))
LRS = (1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2, 2e-2)
SIDES = ('seeds', 'sequential', 'trials', 'sequential_trials')


def _side(side: str, steps: int, cpu_devices: int | None) -> float:
  """Milliseconds for one side, timed in this process after a warm-up run."""
  from launch import platform

  platform.set_cpu_devices(cpu_devices)  # before anything starts a JAX backend
  from launch import api, vmapped

  base = [f'NUM_STEPS = {steps}', f'EVAL_EVERY = {steps}', f'CHECKPOINT_EVERY = {steps}', f'LOG_EVERY = {steps}']
  trials = [[f'SEED = {s}', f'LEARNING_RATE = {lr}'] for s, lr in zip(SEEDS, LRS)]
  root = tempfile.mkdtemp(prefix='bench-sweeps-')
  try:
    api.execute([CONFIG], [*base, 'NUM_STEPS = 2'], workdir=os.path.join(root, 'warm'))
    work = {
      'seeds': lambda: vmapped.execute_seeds([CONFIG], base, list(SEEDS), os.path.join(root, 'vmapped')),
      'sequential': lambda: [
        api.execute([CONFIG], [*base, f'SEED = {s}'], workdir=os.path.join(root, f'seq{s}')) for s in SEEDS
      ],
      'trials': lambda: vmapped.execute_group(
        [CONFIG], base, trials, [os.path.join(root, f'vlr{i}') for i in range(8)], labels=[str(i) for i in range(8)]
      ),
      'sequential_trials': lambda: [
        api.execute([CONFIG], [*base, *t], workdir=os.path.join(root, f'slr{i}')) for i, t in enumerate(trials)
      ],
    }[side]
    t0 = time.perf_counter()
    work()
    return (time.perf_counter() - t0) * 1e3
  finally:
    shutil.rmtree(root, ignore_errors=True)


def _timed(side: str, steps: int, cpu_devices: int | None = None) -> float:
  args = [sys.executable, '-m', 'benchmarks.bench_sweeps', f'--side={side}', f'--steps={steps}']
  if cpu_devices:
    args.append(f'--cpu_devices={cpu_devices}')
  env = {k: v for k, v in os.environ.items() if k != 'XLA_FLAGS'}
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  out = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, check=False)
  if out.returncode:
    raise RuntimeError(f'{" ".join(args)} failed:\n{out.stderr[-3000:]}')
  return json.loads(out.stdout.strip().splitlines()[-1])['ms']


def step_only(repeats: int = 200) -> tuple[float, float]:
  """(vmapped 8-member step ms, one member's step ms) for digits_mlp's model, optimizer and batch, jitted alone.

  The ceiling of the whole-run ratio: once fixed costs (compile, checkpoints, eval, curves) are shared, what is left
  is the step, and on XLA:CPU a vmapped step costs about as much per member as a single one (compute-bound)."""
  import jax
  import jax.numpy as jnp
  import optax

  from common.models import mlp

  model = mlp.MLP(hidden=(256, 256), out=10)
  tx = optax.adam(1e-3)
  x, y = jnp.ones((64, 64)), jnp.zeros((64,), jnp.int32)

  def init(key):
    params = model.init(key, x)['params']
    return params, tx.init(params)

  def step(params, opt, x, y):
    loss = lambda p: optax.softmax_cross_entropy_with_integer_labels(model.apply({'params': p}, x), y).mean()  # noqa: E731
    updates, opt = tx.update(jax.grad(loss)(params), opt, params)
    return optax.apply_updates(params, updates), opt

  params, opt = jax.vmap(init)(jax.random.split(jax.random.key(0), len(SEEDS)))
  xs, ys = jnp.broadcast_to(x, (len(SEEDS), *x.shape)), jnp.broadcast_to(y, (len(SEEDS), *y.shape))
  vmapped, single = jax.jit(jax.vmap(step)), jax.jit(step)
  one = jax.tree_util.tree_map(lambda a: a[0], (params, opt))
  ours = harness.time_fn(lambda: vmapped(params, opt, xs, ys), repeats=repeats)
  peer = harness.time_fn(lambda: single(*one, x, y), repeats=repeats)
  return ours, peer


def cores_for(members: int) -> int:
  cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else (os.cpu_count() or 1)
  return max(d for d in range(1, min(cores, members) + 1) if members % d == 0)


def run(quick: bool = False) -> list[Row]:
  steps = 60 if quick else 600
  k = cores_for(len(SEEDS))
  peer = _timed('sequential', steps)
  ours = _timed('seeds', steps)
  ours_k = _timed('seeds', steps, k) if k > 1 else None
  peer_lr = _timed('sequential_trials', steps)
  ours_lr = _timed('trials', steps)
  ours_lr_k = _timed('trials', steps, k) if k > 1 else None
  note = f'{steps} steps each, everything a run does included (validation, compile, checkpoints, eval, curves)'
  rows = [Row(f'8 seeds of {CONFIG}: --seeds (one vmapped program)', ours, '8 runs one after another', peer, note=note)]
  if ours_k is not None:
    rows.append(Row(f'8 seeds: --seeds --cpu_devices={k}', ours_k, '8 runs one after another', peer, note=note))
  rows.append(
    Row('8 trials differing in learning rate and seed: --vmap_trials', ours_lr, '8 runs one after another', peer_lr,
        note=note)
  )  # fmt: skip
  if ours_lr_k is not None:
    rows.append(
      Row(f'8 trials: --vmap_trials --cpu_devices={k}', ours_lr_k, '8 runs one after another', peer_lr, note=note)
    )
  vstep, one_step = step_only()
  rows.append(
    Row('the train step alone: 8 members vmapped (1 device)', vstep, '8 x one member\'s step', 8 * one_step,
        note='the ceiling of the ratios above once fixed costs are shared (jitted step, no run around it)')
  )  # fmt: skip
  return rows


if __name__ == '__main__':
  parser = argparse.ArgumentParser()
  parser.add_argument('--quick', action='store_true')
  parser.add_argument('--side', choices=SIDES, help='(internal) time one side in this process and print its ms')
  parser.add_argument('--steps', type=int, default=600)
  parser.add_argument('--cpu_devices', type=int, default=None)
  args = parser.parse_args()
  if args.side:
    print(json.dumps({'ms': _side(args.side, args.steps, args.cpu_devices)}))
  else:
    rows = run(quick=args.quick)
    print(harness.format_table(rows))
    harness.write_json(rows, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'results', 'sweeps.json'))
