"""Runs the synaptic-delay configs (both tasks x none/fixed/DCLS/kernel) and writes the results table.

  python -m projects.synaptic_delays.run_all --root /tmp/delay_runs [--seeds 0] [--num_steps N] [--table_only]

Output: projects/synaptic_delays/results/results.md (accuracy, parameters, accuracy at each pruning level).
"""

import argparse
import os
import subprocess
import sys

import numpy as np

from common.train.metrics import read_finished_runs

TASKS = ('texture', 'motif')
VARIANTS = ('none', 'fixed', 'dcls', 'kernel')
NAMES = {
  'none': 'no delays',
  'fixed': 'random fixed delays',
  'dcls': 'learned delays (DCLS)',
  'kernel': 'learned delay kernel (HD-SNN)',
}
KEEP = ('1', '0.5', '0.2', '0.1', '0.05', '0.01')
HERE = os.path.dirname(os.path.abspath(__file__))


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument('--root', default='/tmp/delay_runs')
  parser.add_argument('--seeds', type=int, nargs='+', default=[0])
  parser.add_argument('--tasks', nargs='+', default=list(TASKS))
  parser.add_argument('--num_steps', type=int, default=None)
  parser.add_argument('--table_only', action='store_true')
  args = parser.parse_args()
  for task in args.tasks:
    for variant in VARIANTS:
      for seed in args.seeds:
        workdir = os.path.join(args.root, f'{task}_{variant}', f'seed{seed}')
        if args.table_only or os.path.exists(os.path.join(workdir, 'pruning.json')):
          continue
        cmd = [
          sys.executable,
          '-m',
          'launch',
          f'--gin_file=configs/synaptic_delays/{task}_{variant}.gin',
          f'--workdir={workdir}',
          f'--gin.SEED={seed}',
        ]
        if args.num_steps:
          cmd.append(f'--gin.NUM_STEPS={args.num_steps}')
        print(' '.join(cmd), flush=True)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
  write_table(args.root, args.seeds)


def write_table(root, seeds):
  lines = [
    '| task | synapses | params | accuracy | ' + ' | '.join(f'keep {k}' for k in KEEP[1:]) + ' | seeds |',
    '|---' * (5 + len(KEEP) - 1) + '|',
  ]
  for task in TASKS:
    for variant in VARIANTS:
      runs = read_finished_runs(os.path.join(root, f'{task}_{variant}', f'seed{seed}') for seed in seeds)
      if not runs:
        continue
      cells = []
      for k in KEEP:
        values = [100 * r[f'accuracy_keep_{k}'] for r in runs]
        cells.append(f'{np.mean(values):.1f}' + (f' ± {np.std(values):.1f}' if len(values) > 1 else ''))
      lines.append(
        f'| {task} | {NAMES[variant]} | {int(runs[0]["num_params"]):,} | ' + ' | '.join(cells) + f' | {len(runs)} |'
      )
  table = '\n'.join(lines) + '\n'
  os.makedirs(os.path.join(HERE, 'results'), exist_ok=True)
  with open(os.path.join(HERE, 'results', 'results.md'), 'w') as f:
    f.write(table)
  print(table)


if __name__ == '__main__':
  main()
