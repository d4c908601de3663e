"""The LSM / LSM+STDP / NALSM comparison's table and verdicts, as a `launch report` analysis.

  launch report ROOT --group_by=PLASTICITY_MODE,PRESENTATION_PLASTICITY \
    --analysis=projects.astro_lsm.analysis:comparison

ROOT holds runs of configs/astro_lsm/{lsm,lsm_stdp,nalsm}_digits.gin. A run is labelled by its initialisation rule
(PLASTICITY_MODE: 'none' = LSM, 'stdp' = LSM+STDP, 'astro' = NALSM). From each run's metrics.jsonl the eval rows
give the branching factor at every evaluation (the branching factor over training); from its final metrics the
read-out accuracy. Claims: (1) the astrocyte holds the branching factor near 1: |sigma - 1| of the NALSM below the
other two; (2) accuracy ranks NALSM > LSM+STDP > LSM. A difference counts when the two means differ by more than
two standard errors of their difference (Welch); otherwise it is 'not resolved'.

Writes <out>/branching.png (branching factor against step, mean ± sd per model) and returns Markdown.
"""

import math
import os

import numpy as np

from common.train.metrics import read_jsonl
from launch import report as report_lib

NAMES = {'none': 'LSM', 'stdp': 'LSM+STDP', 'astro': 'NALSM'}
ORDER = ('LSM', 'LSM+STDP', 'NALSM')


def _eval_rows(run: report_lib.Run) -> list[dict]:
  path = os.path.join(run.workdir, 'metrics.jsonl')
  return [r for r in read_jsonl(path) if r.get('split') == 'eval'] if os.path.isfile(path) else []


def _ms(values) -> str:
  v = [float(x) for x in values]
  if not v:
    return '-'
  return f'{np.mean(v):.4g} ± {np.std(v, ddof=1):.2g}' if len(v) > 1 else f'{v[0]:.4g}'


def _gap(a, b, name_a, name_b, what) -> str:
  """Verdict on mean(a) > mean(b)."""
  if len(a) < 2 or len(b) < 2:
    return f'{name_a} vs {name_b} ({what}): not resolved (fewer than 2 runs)'
  diff = float(np.mean(a) - np.mean(b))
  se = math.sqrt(np.var(a, ddof=1) / len(a) + np.var(b, ddof=1) / len(b))
  if abs(diff) <= 2 * se:
    return f'{name_a} vs {name_b} ({what}): not resolved (difference {diff:.3g}, 2 SE {2 * se:.2g})'
  word = 'above' if diff > 0 else 'below'
  return f'{name_a} {word} {name_b} ({what}) by {abs(diff):.3g} (2 SE {2 * se:.2g})'


def comparison(report: report_lib.Report, out_dir: str) -> str:
  """Per model: accuracy, branching factor at every eval step, reservoir rate; verdicts for both claims."""
  runs: dict[str, list[report_lib.Run]] = {}
  for run in (r for g in report.groups for r in g.runs):
    name = NAMES.get(str(run.values.get('PLASTICITY_MODE')))
    if name is not None and run.final and 'accuracy' in run.final:
      runs.setdefault(name, []).append(run)
  if not runs:
    return 'No finished astro_lsm runs under this root.\n'
  models = [m for m in ORDER if m in runs]
  curves = {m: {} for m in models}  # step -> branching factors over the model's runs
  for m in models:
    for run in runs[m]:
      for row in _eval_rows(run):
        if 'branching_factor' in row:
          curves[m].setdefault(int(row['step']), []).append(float(row['branching_factor']))
  steps = sorted({s for c in curves.values() for s in c})
  lines = ['| model | runs | accuracy | ' + ' | '.join(f'sigma @ {s}' for s in steps) + ' | reservoir rate |']
  lines.append('|' + '---|' * (4 + len(steps)))
  for m in models:
    acc = [r.final['accuracy'] for r in runs[m]]
    rate = [r.final.get('reservoir_rate', math.nan) for r in runs[m]]
    sig = [_ms(curves[m].get(s, [])) for s in steps]
    lines.append(f'| {m} | {len(runs[m])} | {_ms(acc)} | ' + ' | '.join(sig) + f' | {_ms(rate)} |')
  lines += [
    '',
    'sigma: branching factor of the eval presentations (1 = critical); reservoir rate: spikes/neuron/step.',
    '',
  ]
  final = {m: [r.final['accuracy'] for r in runs[m]] for m in models}
  off = {m: [abs(r.final['branching_factor'] - 1.0) for r in runs[m] if 'branching_factor' in r.final] for m in models}
  lines.append('Verdicts:')
  for a, b in (('NALSM', 'LSM+STDP'), ('LSM+STDP', 'LSM'), ('NALSM', 'LSM')):
    if a in final and b in final:
      lines.append(f'- {_gap(final[a], final[b], a, b, "accuracy")}')
  for other in ('LSM', 'LSM+STDP'):
    if 'NALSM' in off and other in off:
      lines.append(f'- {_gap(off[other], off["NALSM"], other, "NALSM", "final |sigma - 1|; above = NALSM nearer 1")}')
  _plot(curves, os.path.join(out_dir, 'branching.png'))
  lines += ['', 'Plot: branching.png (branching factor against step).']
  return '\n'.join(lines) + '\n'


def _plot(curves: dict, path: str) -> None:
  import matplotlib

  matplotlib.use('Agg')
  from matplotlib.figure import Figure

  fig = Figure(figsize=(5, 3.5))
  ax = fig.subplots()
  for m, c in curves.items():
    steps = sorted(c)
    if steps:
      mean = [np.mean(c[s]) for s in steps]
      sd = [np.std(c[s]) for s in steps]
      ax.errorbar(steps, mean, yerr=sd, marker='o', capsize=3, label=m)
  ax.axhline(1.0, color='k', lw=0.8, ls=':')
  ax.set(xlabel='step', ylabel='branching factor (eval)', title='branching factor over training')
  ax.grid(alpha=0.3)
  ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=90, metadata={'Software': None})
