"""Runs the ELM comparison through the launcher and writes the results table and plot.

  python -m projects.elm_neuron.run_all --root /tmp/elm_runs [--gaps 50 200 800] [--lengths 1000] [--seeds 0]
      [--num_steps N] [--table_only]

Spike adding: every model in MODELS at every gap (`--gin.GAP=<gap>`); adding problem: ADDING at every length.
Finished runs (final_metrics.json present) are skipped. Output: projects/elm_neuron/results/{results.md,
accuracy_vs_gap.png}.
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np

MODELS = ('elm', 'branch_elm', 'elm_capped', 'lstm', 'gru')
ADDING = ('elm', 'elm_capped', 'lstm')
HERE = os.path.dirname(os.path.abspath(__file__))


def _launch(config, workdir, bindings):
  if os.path.exists(os.path.join(workdir, 'final_metrics.json')):
    return
  cmd = [sys.executable, '-m', 'launch', f'--gin_file=configs/elm_neuron/{config}.gin', f'--workdir={workdir}']
  cmd += [f'--gin.{k}={v}' for k, v in bindings.items()]
  print(' '.join(cmd), flush=True)
  subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def _load(workdir):
  path = os.path.join(workdir, 'final_metrics.json')
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument('--root', default='/tmp/elm_runs')
  parser.add_argument('--gaps', type=int, nargs='*', default=[50, 200, 800])
  parser.add_argument('--lengths', type=int, nargs='*', default=[1000])
  parser.add_argument('--seeds', type=int, nargs='+', default=[0])
  parser.add_argument('--num_steps', type=int, default=None, help='override NUM_STEPS of every config')
  parser.add_argument('--models', nargs='+', default=list(MODELS), help='spike-adding models to run')
  parser.add_argument('--adding_models', nargs='+', default=list(ADDING), help='adding-problem models to run')
  parser.add_argument('--all_gaps', type=int, nargs='*', default=None, help='gaps shown in the table')
  parser.add_argument('--all_lengths', type=int, nargs='*', default=None, help='lengths shown in the table')
  parser.add_argument('--table_only', action='store_true')
  parser.add_argument('--out', default=os.path.join(HERE, 'results', 'results.md'), help='where the tables go')
  args = parser.parse_args()
  extra = {'NUM_STEPS': args.num_steps} if args.num_steps else {}
  if not args.table_only:
    for gap in args.gaps:
      for model in args.models:
        for seed in args.seeds:
          _launch(
            f'spike_adding_{model}',
            f'{args.root}/spike_adding_{model}/gap{gap}/seed{seed}',
            {'GAP': gap, 'SEED': seed, **extra},
          )
    for length in args.lengths:
      for model in args.adding_models:
        for seed in args.seeds:
          _launch(
            f'adding_{model}',
            f'{args.root}/adding_{model}/len{length}/seed{seed}',
            {'LENGTH': length, 'SEED': seed, **extra},
          )
  gaps = args.all_gaps if args.all_gaps is not None else args.gaps
  lengths = args.all_lengths if args.all_lengths is not None else args.lengths
  write_results(args.root, gaps, lengths, args.seeds, args.out)


def _cell(runs, key='accuracy', scale=100.0, fmt='.1f'):
  if not runs:
    return 'not run'
  values = [scale * r[key] for r in runs]
  return f'{np.mean(values):{fmt}}' + (f' +- {np.std(values):{fmt}}' if len(values) > 1 else '')


def write_results(root, gaps, lengths, seeds, out_md):
  """Writes the spike-adding table (if gaps) and the adding-problem table (if lengths) to out_md, and the
  accuracy-vs-gap plot beside it (if gaps)."""
  lines = [
    '### Spike adding (test accuracy %, 19 classes; chance ~ 10% for the most common sum)',
    '',
    '| model | params | ' + ' | '.join(f'gap {g}' for g in gaps) + ' |',
    '|---' * (2 + len(gaps)) + '|',
  ]
  curves = {}
  for model in MODELS:
    row, params = [], None
    for gap in gaps:
      runs = [r for r in (_load(f'{root}/spike_adding_{model}/gap{gap}/seed{s}') for s in seeds) if r]
      params = params or (runs[0]['num_params'] if runs else None)
      row.append(_cell(runs))
      curves.setdefault(model, []).append(np.mean([r['accuracy'] for r in runs]) if runs else np.nan)
    lines.append(f'| {model} | {params or "-"} | ' + ' | '.join(row) + ' |')
  adding = [
    '### Adding problem (test MSE; predicting the mean gives ~0.167; accuracy = |error| < 0.04, %)',
    '',
    '| model | params | ' + ' | '.join(f'T={n} MSE | T={n} acc' for n in lengths) + ' |',
    '|---' * (2 + 2 * len(lengths)) + '|',
  ]
  for model in ADDING:
    row, params = [], None
    for n in lengths:
      runs = [r for r in (_load(f'{root}/adding_{model}/len{n}/seed{s}') for s in seeds) if r]
      params = params or (runs[0]['num_params'] if runs else None)
      row += [_cell(runs, 'loss', 1.0, '.4f'), _cell(runs)]
    adding.append(f'| {model} | {params or "-"} | ' + ' | '.join(row) + ' |')
  parts = ([lines] if gaps else []) + ([adding] if lengths else [])
  table = '\n\n'.join('\n'.join(part) for part in parts) + '\n'
  out = os.path.dirname(os.path.abspath(out_md))
  os.makedirs(out, exist_ok=True)
  with open(out_md, 'w') as f:
    f.write(table)
  print(table)
  if not gaps:
    return
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  fig, ax = plt.subplots(figsize=(5, 3.5))
  for model, accs in curves.items():
    ax.plot(gaps, 100 * np.asarray(accs), marker='o', label=model)
  ax.set(xscale='log', xlabel='gap between the digits (steps)', ylabel='test accuracy (%)', title='Spike adding')
  ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(os.path.join(out, 'accuracy_vs_gap.png'), dpi=120)


if __name__ == '__main__':
  main()
