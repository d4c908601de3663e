"""The adaptive-reservoir table and plot, as an analysis that `launch report` calls on the sweep root:

  launch report ROOT ... --analysis=projects.adaptive_reservoir.analysis:ei_balance

Every run is one (task, setting, seed) of configs/adaptive_reservoir/sweeps/ei_balance.py. Per task: the best and
the worst global E/I setting (ADAPTATION 'none', INHIBITION_SCALE swept), the best local setting with homogeneous
and with heterogeneous targets (TARGET swept), each by its mean over seeds; the local methods' improvement over the
best and over the worst global setting (relative gain for memory capacity, relative error reduction for NRMSE); and
the spread of the mean score over each method's grid (how much tuning it needs). Writes ei_balance.png: mean score
against mean firing rate for every setting.
"""

import os
from typing import Any

from launch import report as report_lib
from launch.report import config_value

METHODS = ('none', 'homogeneous', 'heterogeneous')
TASK_KEY = 'experiment.run.task'


def settings(report) -> dict[str, dict[str, list[tuple[float, Any, Any]]]]:
  """task -> method -> [(knob value, score stat, mean-rate stat)] sorted by knob (INHIBITION_SCALE or TARGET)."""
  out: dict[str, dict[str, list]] = {}
  for g in report.groups:
    run = g.runs[0]
    method = config_value(run, 'ADAPTATION')
    knob = float(config_value(run, 'INHIBITION_SCALE' if method == 'none' else 'TARGET'))
    if 'score' in g.stats:
      row = (knob, g.stats['score'], g.stats.get('mean_rate'))
      out.setdefault(config_value(run, TASK_KEY), {}).setdefault(method, []).append(row)
  for methods in out.values():
    for rows in methods.values():
      rows.sort(key=lambda r: r[0])
  return out


def higher_is_better(task: str) -> bool:
  return task == 'memory_capacity'  # MC; the other tasks report NRMSE


def improvement(value: float, reference: float, higher: bool) -> float:
  """Relative gain (higher is better) or relative error reduction (lower is better) of value over reference."""
  return value / reference - 1.0 if higher else 1.0 - value / reference


def ei_balance(report, out: str) -> str:
  by_task = settings(report)
  lines = [
    'Per task, each setting by its mean over seeds. "vs best/worst global": relative gain (MC) or relative error '
    'reduction (NRMSE) of the best local setting against the best / worst global setting. Range: max - min of the '
    "mean score over the method's grid.",
    '',
    '| task | metric | global best (scale) | homogeneous best (target) | vs best global | vs worst global '
    '| heterogeneous best (target) | vs best global | vs worst global | range: global / hom / het |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ]
  detail = []
  for task in sorted(by_task):
    methods, higher = by_task[task], higher_is_better(task)
    if not all(m in methods for m in METHODS):
      lines.append(f'| {task} | (incomplete: {", ".join(m for m in METHODS if m not in methods)} missing) |')
      continue
    pick = max if higher else min
    best = {m: pick(methods[m], key=lambda r: r[1].mean) for m in METHODS}
    worst_global = (min if higher else max)(methods['none'], key=lambda r: r[1].mean)
    ranges = {m: max(r[1].mean for r in methods[m]) - min(r[1].mean for r in methods[m]) for m in METHODS}
    g = best['none'][1].mean
    cells = [task, 'MC' if higher else 'NRMSE', f'{report_lib.fmt_stat(best["none"][1])} ({best["none"][0]:g})']
    for m in ('homogeneous', 'heterogeneous'):
      v = best[m][1].mean
      cells += [
        f'{report_lib.fmt_stat(best[m][1])} ({best[m][0]:g})',
        f'{improvement(v, g, higher):+.0%}',
        f'{improvement(v, worst_global[1].mean, higher):+.0%}',
      ]
    cells.append(' / '.join(f'{ranges[m]:.3f}' for m in METHODS))
    lines.append('| ' + ' | '.join(cells) + ' |')
    glob = ', '.join(f'{k:g}: {s.mean:.3f} [{r.mean:.2f}]' for k, s, r in methods['none'] if r is not None)
    local = '; '.join(
      f'{m} {{' + ', '.join(f'{k:g}: {s.mean:.3f}' for k, s, _ in methods[m]) + '}' for m in METHODS[1:]
    )
    detail.append(f'- {task}: global {{{glob}}}; {local}')
  lines += ['', 'Per-setting means (global: inhibition_scale -> score [mean rate]; local: target -> score):', '']
  lines += detail
  if by_task:
    path = _plot(by_task, os.path.join(out, 'ei_balance.png'))
    lines += ['', f'Plot: {os.path.basename(path)}.']
  return '\n'.join(lines) + '\n'


def _plot(by_task: dict, path: str) -> str:
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  tasks = sorted(by_task)
  fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 3.6), squeeze=False)
  labels = {'none': 'global E/I sweep', 'homogeneous': 'local, homogeneous', 'heterogeneous': 'local, heterogeneous'}
  for ax, task in zip(axes[0], tasks):
    for m, marker in zip(METHODS, 'os^'):
      rows = [r for r in by_task[task].get(m, []) if r[2] is not None]
      if rows:
        ax.errorbar(
          [r[2].mean for r in rows], [r[1].mean for r in rows], yerr=[r[1].std or 0.0 for r in rows],
          marker=marker, label=labels[m], capsize=3,
        )  # fmt: skip
    ax.set_xlabel('mean firing rate')
    ax.set_ylabel('MC' if higher_is_better(task) else 'NRMSE')
    ax.set_title(task)
    ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=110, metadata={'Software': None})
  plt.close(fig)
  return path
