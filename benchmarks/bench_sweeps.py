"""Seeds as one vmapped program vs the same runs one after another, through the launcher's own API, on CPU.

8 runs of configs/baselines/digits_mlp.gin (MLP 64-256-256-10 on digits, batch 64), seeds 0..7. "ours" is
`launch --seeds=0,...,7` (launch/vmapped.execute_seeds: the run engine stacks the seeds and vmaps the step);
"peer" is 8 plain runs (launch/api.execute with SEED=s), one after another in the same process, as a sweep without
--vmap_trials pays them. Both include everything a run does (validation, the build check, compilation, metrics,
checkpoints, final evaluation, curves), so the ratio is the throughput a researcher sees. A second row times the
sweep of 8 trials that differ in learning rate and seed (configs/baselines/sweeps/ style, one program with the
optimizers switched per member) against the same 8 trials run one after another.

  .venv/bin/python -m benchmarks.bench_sweeps [--quick]
"""

import argparse
import os
import shutil
import tempfile
import time

from benchmarks import harness
from benchmarks.harness import Row

CONFIG = 'configs/baselines/digits_mlp.gin'
SEEDS = tuple(range(8))
LRS = (1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2, 2e-2)


def _timed(fn) -> float:
  t0 = time.perf_counter()
  fn()
  return (time.perf_counter() - t0) * 1e3


def run(quick: bool = False) -> list[Row]:
  from launch import api, vmapped

  steps = 60 if quick else 600
  base = [f'NUM_STEPS = {steps}', f'EVAL_EVERY = {steps}', f'CHECKPOINT_EVERY = {steps}', f'LOG_EVERY = {steps}']
  root = tempfile.mkdtemp(prefix='bench-sweeps-')
  try:
    # Warm the process (imports, the dataset's first load) so neither side pays it.
    api.execute([CONFIG], [*base, 'NUM_STEPS = 2'], workdir=os.path.join(root, 'warm'))
    ours = _timed(lambda: vmapped.execute_seeds([CONFIG], base, list(SEEDS), os.path.join(root, 'vmapped')))
    peer = _timed(
      lambda: [api.execute([CONFIG], [*base, f'SEED = {s}'], workdir=os.path.join(root, f'seq{s}')) for s in SEEDS]
    )
    trials = [[f'SEED = {s}', f'LEARNING_RATE = {lr}'] for s, lr in zip(SEEDS, LRS)]
    ours_lr = _timed(
      lambda: vmapped.execute_group(
        [CONFIG], base, trials, [os.path.join(root, f'vlr{i}') for i in range(8)], labels=[str(i) for i in range(8)]
      )
    )
    peer_lr = _timed(lambda: [api.execute([CONFIG], [*base, *t], workdir=os.path.join(root, f'slr{i}'))
                              for i, t in enumerate(trials)])  # fmt: skip
  finally:
    shutil.rmtree(root, ignore_errors=True)
  note = f'{steps} steps each, everything a run does included (validation, compile, checkpoints, eval, curves)'
  return [
    Row(f'8 seeds of {CONFIG}: --seeds (one vmapped program)', ours, '8 runs one after another', peer, note=note),
    Row(
      '8 trials differing in learning rate and seed: --vmap_trials',
      ours_lr,
      '8 runs one after another',
      peer_lr,
      note=note,
    ),  # fmt: skip
  ]


if __name__ == '__main__':
  parser = argparse.ArgumentParser()
  parser.add_argument('--quick', action='store_true')
  args = parser.parse_args()
  rows = run(quick=args.quick)
  print(harness.format_table(rows))
  harness.write_json(rows, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'results', 'sweeps.json'))
