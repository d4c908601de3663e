"""Results tables and plots for continual-learning projects, from the final_metrics.json of finished runs.

Projects run their experiments with the launcher (one workdir per method and seed) and call these helpers to
turn the workdirs into a markdown table (mean +- std over seeds) and summary plots. Nothing here trains.
"""

import json
import os
import subprocess
import sys
from typing import Sequence

import numpy as np


def run_grid(
  config_dir: str,
  methods: Sequence[str],
  seeds: Sequence[int],
  root: str,
  extra: Sequence[str] = (),
  name: str | None = None,
) -> dict[str, str]:
  """Runs <config_dir>/<method>.gin for every seed into <root>/<name or method>/seed<k> (finished runs are
  skipped, stopped ones resume). Returns {name or method: the launch command, with <s> for the seed}."""
  commands = {}
  for m in methods:
    gin_file = os.path.join(config_dir, f'{m}.gin')
    key = name or m
    for s in seeds:
      workdir = os.path.join(root, key, f'seed{s}')
      if not os.path.exists(os.path.join(workdir, 'final_metrics.json')):
        # The launcher in a subprocess: common never imports launch, and each run gets a fresh gin.
        flags = [f'--gin_file={gin_file}', *[f'--gin.{b}' for b in (f'SEED={s}', *extra)], f'--workdir={workdir}']
        done = subprocess.run([sys.executable, '-m', 'launch', *flags])
        if done.returncode:  # e.g. a diverged run: report it and go on with the grid
          print(f'run failed (exit {done.returncode}): {gin_file} seed {s} in {workdir}', file=sys.stderr, flush=True)
    commands[key] = ' '.join(['launch', f'--gin_file={gin_file}', *[f'--gin.{b}' for b in extra], '--gin.SEED=<s>'])
  return commands


def load_runs(root: str, methods: Sequence[str], seeds: Sequence[int]) -> dict[str, list[dict]]:
  """{method: [final metrics + accuracy matrix of each finished seed]} from <root>/<method>/seed<k>/."""
  out = {}
  for m in methods:
    runs = []
    for s in seeds:
      d = os.path.join(root, m, f'seed{s}')
      path = os.path.join(d, 'final_metrics.json')
      if os.path.exists(path):
        with open(path) as f:
          final = json.load(f)
        with open(os.path.join(d, 'accuracy_matrix.json')) as f:
          final['matrix'] = json.load(f)['acc']
        runs.append(final)
    out[m] = runs
  return out


def _fmt(values: list[float], scale: float = 100.0) -> str:
  if not values:
    return 'n/a'
  v = scale * np.asarray(values)
  return f'{v.mean():.1f} ± {v.std():.1f}' if len(v) > 1 else f'{v.mean():.1f}'


def markdown_table(
  runs: dict[str, list[dict]], commands: dict[str, str], keys=('acc', 'bwt', 'forgetting', 'fwt')
) -> str:
  """One row per method: metrics in percentage points (mean ± std over seeds), seeds, and the command."""
  head = '| method | ' + ' | '.join(k.upper() for k in keys) + ' | seeds | command |'
  lines = [head, '|' + '---|' * (len(keys) + 3)]
  for m, rs in runs.items():
    cells = [_fmt([r[k] for r in rs if k in r]) for k in keys]
    lines.append(f'| {m} | ' + ' | '.join(cells) + f' | {len(rs)} | `{commands.get(m, "")}` |')
  return '\n'.join(lines)


def plot_summary(runs: dict[str, list[dict]], png_path: str, title: str = '') -> str | None:
  """Left: ACC and BWT per method (mean, std bars). Right: average accuracy over seen tasks after each task."""
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  names = [m for m, rs in runs.items() if rs]
  if not names:
    return None
  fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 3.8))
  x = np.arange(len(names))
  for offset, key in ((-0.2, 'acc'), (0.2, 'bwt')):
    vals = [100 * np.array([r[key] for r in runs[m]]) for m in names]
    ax0.bar(x + offset, [v.mean() for v in vals], 0.4, yerr=[v.std() for v in vals], label=key.upper())
  ax0.axhline(0, color='k', lw=0.5)
  ax0.set_xticks(x, names, rotation=30)
  ax0.set_ylabel('percentage points')
  ax0.legend()
  for m in names:
    curves = []
    for r in runs[m]:
      acc = np.asarray(r['matrix'])
      curves.append([acc[i, : i + 1].mean() for i in range(len(acc))])
    curves = 100 * np.asarray(curves)
    ax1.plot(np.arange(1, curves.shape[1] + 1), curves.mean(0), marker='.', label=m)
  ax1.set_xlabel('tasks learned')
  ax1.set_ylabel('mean accuracy on seen tasks (%)')
  ax1.legend(fontsize=7)
  fig.suptitle(title)
  fig.tight_layout()
  fig.savefig(png_path, dpi=90)
  plt.close(fig)
  return png_path


def plot_matrices(runs: dict[str, list[dict]], png_path: str) -> str | None:
  """The seed-mean accuracy matrix of every method side by side."""
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  names = [m for m, rs in runs.items() if rs]
  if not names:  # e.g. every run diverged: nothing to draw
    return None
  fig, axes = plt.subplots(1, len(names), figsize=(2.6 * len(names), 2.8), squeeze=False)
  for ax, m in zip(axes[0], names):
    acc = np.mean([np.asarray(r['matrix']) for r in runs[m]], axis=0)
    ax.imshow(acc, vmin=0, vmax=1, cmap='viridis')
    ax.set_title(m, fontsize=9)
    ax.set_xlabel('task j', fontsize=8)
    ax.set_ylabel('after task i', fontsize=8)
  fig.tight_layout()
  fig.savefig(png_path, dpi=90)
  plt.close(fig)
  return png_path
