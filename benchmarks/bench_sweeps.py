"""Vmapped sweep trials vs the same trials one after another, on CPU.

8 trials of an MLP (64, 64) fitting `exp_sin4` (function_fitting), batch 64, each with its own learning rate and
seed. "ours" is launch.vmapped.train_many on all 8 at once; "peer" is train_many on one trial at a time, 8
times (the same jitted step, so the only difference is the trial axis). Both include compilation, as a sweep
pays it: every sequential trial compiles its own step (its optimizer differs). A steady-state row times one
step of all 8 trials with compilation excluded.

  .venv/bin/python -m benchmarks.bench_sweeps [--quick]
"""

import argparse
import os
import time

import jax

from benchmarks import harness
from benchmarks.harness import Row

LRS = (1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2, 2e-2)


def _setup(num_steps):
  from common.data.synthetic import function_fitting
  from common.models import mlp
  from common.train import optim, tasks

  task = tasks.RegressionTask(
    data=function_fitting.make_dataset('exp_sin4', num_train=1024, num_eval=256), batch_size=64
  )
  model = mlp.MLP(hidden=(64, 64), out=1)
  txs = [optim.create_optimizer(num_steps, learning_rate=lr) for lr in LRS]
  return model, task, txs, list(range(len(LRS)))


def run(quick: bool = False) -> list[Row]:
  from launch import vmapped

  num_steps = 50 if quick else 300
  model, task, txs, seeds = _setup(num_steps)
  t0 = time.perf_counter()
  finals_v, _ = vmapped.train_many(model, task, txs, seeds, num_steps)
  vmapped_s = time.perf_counter() - t0
  t0 = time.perf_counter()
  finals_s = [vmapped.train_many(model, task, [tx], [s], num_steps)[0][0] for tx, s in zip(txs, seeds)]
  sequential_s = time.perf_counter() - t0
  worst = max(abs(a['loss'] - b['loss']) / max(abs(b['loss']), 1e-9) for a, b in zip(finals_v, finals_s))
  rows = [
    Row(
      f'8 trials x {num_steps} steps, compile included',
      vmapped_s * 1e3,
      '8 sequential',
      sequential_s * 1e3,
      note=f'max rel. loss diff vmapped vs sequential {worst:.1e}; {len(jax.devices())} device(s)',
    )
  ]
  # Steady state: one step of all 8 trials vs 8 single-trial steps (compilation excluded).
  rows.append(_steady(model, task, txs, seeds))
  return rows


def _steady(model, task, txs, seeds) -> Row:
  """Median time of one step of all 8 trials (vmapped) vs 8 times one single-trial step; compile excluded."""
  from launch import vmapped

  def step_time(ts, ss) -> float:
    step, state, args = vmapped.prepare_many(model, task, ts, ss)
    box = [state]

    def one():
      box[0], metrics = step(box[0], *args)
      return metrics

    return harness.time_fn(one, warmup=3, repeats=20)

  v = step_time(txs, seeds)
  s = sum(step_time([tx], [sd]) for tx, sd in zip(txs, seeds))
  return Row('one step of 8 trials, steady state', v, '8 sequential', s, note='median per step, compile excluded')


if __name__ == '__main__':
  parser = argparse.ArgumentParser()
  parser.add_argument('--quick', action='store_true')
  args = parser.parse_args()
  rows = run(quick=args.quick)
  print(harness.format_table(rows))
  harness.write_json(rows, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'results', 'sweeps.json'))
