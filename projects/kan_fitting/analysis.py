"""The kan_fitting table (test RMSE per grid of the grid-extension KAN, and the equal-parameter MLP) and the scaling
plot, as a `launch report` analysis.

  launch report ROOT --group_by=FORMULA,ENTRY_POINT,HIDDEN --metrics=rmse,num_params \
    --analysis=projects.kan_fitting.analysis:tables

ROOT holds runs of configs/kan_fitting/grid_extension.gin (final metrics rmse_grid<G>, num_params_grid<G> for every
grid G in GRID_SIZES) and configs/kan_fitting/mlp.gin (rmse, num_params) on the same FORMULAs (the commands are in
projects/kan_fitting/README.md). Per formula, the "equal params" MLP is the MLP whose parameter count is closest to
the KAN's at its last grid (the sweep includes that width). Writes <out>/scaling.png: test RMSE against parameters
per formula, the KAN's grids, the MLP widths, and the N^-4 slope (the theory's RMSE ~ G^-(k+1), k = 3) through the
KAN's first grid.
"""

import os

from common.data.synthetic import function_fitting
from launch import report as report_lib


def _entry(run: report_lib.Run) -> str:
  value = run.values.get('ENTRY_POINT')
  return value.get('@', '') if isinstance(value, dict) else ''


def collect(report: report_lib.Report) -> tuple[dict, dict, list[str]]:
  """({formula: [(grid, rmse Stat, params)]} for the KAN runs, {formula: [(hidden, rmse Stat, params)]} for the
  MLP runs, problems), over the finished runs."""
  kan_runs: dict[str, list] = {}
  mlp_runs: dict[tuple, list] = {}
  for run in (r for g in report.groups for r in g.runs):
    formula = str(run.values.get('FORMULA'))
    if _entry(run).endswith('train_grid_extension'):
      kan_runs.setdefault(formula, []).append(run)
    elif _entry(run).endswith('loop.train') and 'HIDDEN' in run.values:
      mlp_runs.setdefault((formula, tuple(run.values['HIDDEN'])), []).append(run)
  kans, mlps, problems = {}, {}, []
  for formula, runs in sorted(kan_runs.items()):
    if report_lib.varying_keys(runs):
      problems.append(f'KAN {formula}: runs differ in {", ".join(report_lib.varying_keys(runs))}')
      continue
    grids = [g for g in runs[0].values.get('GRID_SIZES', ()) if f'rmse_grid{g}' in runs[0].final]
    kans[formula] = [
      (g, report_lib.stat([r.final[f'rmse_grid{g}'] for r in runs]), int(runs[0].final[f'num_params_grid{g}']))
      for g in grids
    ]
  for (formula, hidden), runs in sorted(mlp_runs.items(), key=lambda kv: (kv[0][0], kv[0][1])):
    if report_lib.varying_keys(runs):
      problems.append(f'MLP {formula} {hidden}: runs differ in {", ".join(report_lib.varying_keys(runs))}')
      continue
    entry = (hidden, report_lib.stat([r.final['rmse'] for r in runs]), int(runs[0].final['num_params']))
    mlps.setdefault(formula, []).append(entry)
  return kans, mlps, problems


def tables(report: report_lib.Report, out_dir: str) -> str:
  """The README's table (Markdown) and scaling.png; see the module docstring."""
  kans, mlps, problems = collect(report)
  if not kans:
    return 'No finished grid-extension KAN runs (configs/kan_fitting/grid_extension.gin) under the root.'
  grids = sorted({g for pts in kans.values() for g, _, _ in pts})
  n = sorted({s.n for pts in list(kans.values()) + list(mlps.values()) for _, s, _ in pts})
  lines = [
    f'Test RMSE, mean ± std over n = {"/".join(map(str, n))} seeds (parameters in brackets).',
    '',
    '| formula | KAN shape | '
    + ' | '.join(f'KAN G={g}' for g in grids)
    + ' | MLP equal params (h, params) | KAN last grid < MLP? |',
    '|---|---|' + '---|' * (len(grids) + 2),
  ]
  for formula, pts in kans.items():
    run = next(r for g in report.groups for r in g.runs if str(r.values.get('FORMULA')) == formula)
    shape = [function_fitting.input_dim(formula), *run.values.get('WIDTHS', ())]
    by_grid = {g: (s, p) for g, s, p in pts}
    cells = [f'{report_lib.fmt_stat(by_grid[g][0])} ({by_grid[g][1]})' if g in by_grid else '-' for g in grids]
    mlp_cell, verdict = '-', '-'
    if mlps.get(formula):
      last_stat, last_params = pts[-1][1], pts[-1][2]
      hidden, stat, params = min(mlps[formula], key=lambda m: (abs(m[2] - last_params), m[2]))
      mlp_cell = f'{report_lib.fmt_stat(stat)} (h={hidden[0]}, {params})'
      verdict = 'yes' if last_stat.mean < stat.mean else 'no'
    lines.append(f'| {formula} | {shape} | ' + ' | '.join(cells) + f' | {mlp_cell} | {verdict} |')
  if problems:
    lines += ['', 'Not tabulated: ' + '; '.join(problems)]
  path = plot(kans, mlps, os.path.join(out_dir, 'scaling.png'))
  lines += [
    '',
    f'Plot: {os.path.basename(path)} (test RMSE against parameters: the KAN at each grid, every MLP width, and '
    "the N^-4 slope through the KAN's first grid).",
  ]
  return '\n'.join(lines) + '\n'


def plot(kans: dict, mlps: dict, path: str) -> str:
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  fig, axes = plt.subplots(1, len(kans), figsize=(4 * len(kans), 3.4), squeeze=False)
  for ax, (formula, pts) in zip(axes[0], kans.items()):
    kp = [p for _, _, p in pts]
    kr = [s.mean for _, s, _ in pts]
    ax.errorbar(kp, kr, yerr=[s.std or 0.0 for _, s, _ in pts], marker='o', label='KAN (grid extension)', capsize=2)
    if mlps.get(formula):
      ms = sorted(mlps[formula], key=lambda m: m[2])
      ax.errorbar(
        [p for _, _, p in ms], [s.mean for _, s, _ in ms], yerr=[s.std or 0.0 for _, s, _ in ms], marker='s',
        linestyle='--', label='MLP (widths)', capsize=2,
      )  # fmt: skip
    ax.plot(kp, [kr[0] * (p / kp[0]) ** -4 for p in kp], ':', color='gray', label='N^-4')
    ax.set_xscale('log')
    ax.set_yscale('log')
    ax.set_title(formula)
    ax.set_xlabel('parameters')
    ax.set_ylabel('test RMSE')
    ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=90, metadata={'Software': None})
  plt.close(fig)
  return path
