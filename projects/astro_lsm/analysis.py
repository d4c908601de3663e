"""The LSM / LSM+STDP / NALSM comparison's table and verdicts, as a `launch report` analysis.

  launch report ROOT --group_by=PLASTICITY_MODE,PRESENTATION_PLASTICITY \
    --analysis=projects.astro_lsm.analysis:comparison

ROOT holds runs of configs/astro_lsm/{lsm,lsm_stdp,nalsm}_digits.gin. A run is labelled by its initialisation rule
(PLASTICITY_MODE: 'none' = LSM, 'stdp' = LSM+STDP, 'astro' = NALSM). From each run's metrics.jsonl the eval rows
give the branching factor at every evaluation (the branching factor over training); from its final metrics the
read-out accuracy. Claims: (1) the astrocyte holds the branching factor near 1: |sigma - 1| of the NALSM below the
other two; (2) accuracy ranks NALSM > LSM+STDP > LSM. Each claim is judged on seed-paired differences with
launch/claims.py ('above: holds' when the mean difference exceeds 2 standard errors).

Writes <out>/branching.png (branching factor against step, mean ± sd per model) and returns Markdown.
"""

import math
import os

import numpy as np

from common.train.metrics import read_jsonl
from launch import claims
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

  def by_seed(m, fn):
    return claims.by_seed(runs[m], fn)

  acc = {m: by_seed(m, lambda r: r.final['accuracy']) for m in models}
  near = {m: by_seed(m, lambda r: -abs(r.final.get('branching_factor', math.nan) - 1.0)) for m in models}
  lines += ['| claim | difference (seed-paired) | mean ± SE | verdict |', '|---|---|---|---|']
  for a, b in (('NALSM', 'LSM+STDP'), ('LSM+STDP', 'LSM'), ('NALSM', 'LSM')):
    if a in acc and b in acc:
      gap = claims.paired_gap(acc[a], acc[b])
      lines.append(f'| (2) accuracy {a} above {b} | {a} - {b} | {claims.gap_text(gap)} | {claims.above(gap)} |')
  for other in ('LSM', 'LSM+STDP'):
    if 'NALSM' in near and other in near:
      gap = claims.paired_gap(near['NALSM'], near[other])
      claim, cell = f'(1) NALSM nearer sigma = 1 than {other}', f'abs(sigma - 1): {other} - NALSM'
      lines.append(f'| {claim} | {cell} | {claims.gap_text(gap)} | {claims.above(gap)} |')
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
