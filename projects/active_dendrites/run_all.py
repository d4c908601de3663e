"""Runs every active-dendrites config for several seeds through the launcher and writes the results table.

  python -m projects.active_dendrites.run_all --root /tmp/ad_runs [--seeds 0 1 2] [--tasks 10 50] [--table_only]
      [--variants ...] [--bindings X=Y ...] [--out FILE]

Each run is `python -m launch --gin_file=configs/active_dendrites/<variant>_<tasks>.gin --gin.SEED=<seed>
--workdir=<root>/<variant>_<tasks>/seed<seed>` plus `--gin.X=Y` for every --bindings entry (use a separate root
for each set of bindings); finished runs (with final_metrics.json) are skipped. The table
(mean +- std over seeds of the accuracy after all tasks) goes to projects/active_dendrites/results/results.md.
"""

import argparse
import functools
import os
import subprocess
import sys

import numpy as np

from common.train.metrics import read_finished_runs

VARIANTS = ('ad_kwinners', 'kwinners_only', 'dendrites_only', 'mlp')
NAMES = {
  'ad_kwinners': 'active dendrites + k-winners',
  'kwinners_only': 'k-winners only',
  'dendrites_only': 'active dendrites only',
  'mlp': 'MLP',
}
HERE = os.path.dirname(os.path.abspath(__file__))


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument('--root', default='/tmp/ad_runs')
  parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
  parser.add_argument('--tasks', type=int, nargs='+', default=[10, 50])
  parser.add_argument('--variants', nargs='+', default=list(VARIANTS), help='which models to run')
  parser.add_argument('--bindings', nargs='*', default=[], help='extra gin bindings X=Y for every run')
  parser.add_argument('--table_only', action='store_true')
  parser.add_argument('--out', default=os.path.join(HERE, 'results', 'results.md'), help='where the table goes')
  args = parser.parse_args()
  for tasks in args.tasks:
    for variant in args.variants:
      for seed in args.seeds:
        workdir = os.path.join(args.root, f'{variant}_{tasks}', f'seed{seed}')
        if args.table_only or os.path.exists(os.path.join(workdir, 'final_metrics.json')):
          continue
        cmd = [
          sys.executable,
          '-m',
          'launch',
          f'--gin_file=configs/active_dendrites/{variant}_{tasks}.gin',
          f'--gin.SEED={seed}',
          f'--workdir={workdir}',
        ] + [f'--gin.{b}' for b in args.bindings]
        print(' '.join(cmd), flush=True)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
  write_table(args.root, args.seeds, args.tasks, args.out)


def _stat(runs, key):
  values = [100 * r[key] for r in runs]
  return f'{np.mean(values):.1f} +- {np.std(values):.1f}'


def write_table(root, seeds, task_counts, out):
  lines = [
    '| model | tasks | accuracy after all tasks (inferred context) | oracle context | task inference | '
    'first task | params | seeds |',
    '|---|---|---|---|---|---|---|---|',
  ]
  for tasks in task_counts:
    for variant in VARIANTS:
      runs = read_finished_runs(os.path.join(root, f'{variant}_{tasks}', f'seed{seed}') for seed in seeds)
      if not runs:
        continue
      stat = functools.partial(_stat, runs)
      lines.append(
        f'| {NAMES[variant]} | {tasks} | {stat("accuracy")} | {stat("accuracy_oracle_context")} | '
        f'{stat("task_inference_accuracy")} | {stat("accuracy_first_task")} | {runs[0]["num_params"]:,} | '
        f'{len(runs)} |'
      )
  table = '\n'.join(lines) + '\n'
  os.makedirs(os.path.dirname(out), exist_ok=True)
  with open(out, 'w') as f:
    f.write(table)
  print(table)


if __name__ == '__main__':
  main()
