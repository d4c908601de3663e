"""The concept-shift tables and plot, as an analysis that `launch report` calls on the sweep root:

  launch report ROOT ... --analysis=projects.need_is_all_you_need.analysis:concept_shift

Every run is one (learner, shift condition, seed) of configs/need_is_all_you_need/sweeps/concept_shift.py; its final
metrics hold the means over all epochs (common/homeostatic/online.py: mean_online_accuracy, mean_accuracy,
mean_lr). Learners are named by MODE and by eta0 relative to the smallest LR_INIT under the root ('constant_2x' is
MODE 'constant' at twice that eta0). Gaps are homeostatic minus a baseline, paired by seed (the same initial
weights, sample order and swaps), ± the standard error of the paired differences. Writes concept_shift.png: online
accuracy and gaps against the swap rate, and the seasonal condition's online accuracy per epoch (read from the
runs' metrics.jsonl).
"""

import json
import math
import os

from launch import claims
from launch import report as report_lib
from launch.report import config_value

ORDER = ('homeostatic', 'random', 'constant', 'constant_2x', 'homeostatic_2x')
GAPS = (('homeostatic', 'random'), ('homeostatic', 'constant'), ('homeostatic', 'constant_2x'))
MATCHED_GAP = ('homeostatic_2x', 'constant_2x')  # regulation against a constant rate at the same eta0


def condition(run) -> tuple[tuple, str]:
  """(sort key, label) of the run's shift condition."""
  swaps, amplitude = float(config_value(run, 'SWAPS', 0)), float(config_value(run, 'SEASONAL_AMPLITUDE', 0.0))
  if amplitude:
    period = float(config_value(run, 'SEASONAL_PERIOD', 10.0))
    return (1, swaps, amplitude), f'seasonal {swaps:g}±{amplitude:g} (period {period:g})'
  return (0, swaps, 0.0), f'{swaps:g} swaps/epoch'


def learner(run, base_lr: float) -> str:
  mode, lr = config_value(run, 'MODE'), float(config_value(run, 'LR_INIT'))
  return mode if math.isclose(lr, base_lr) else f'{mode}_{lr / base_lr:g}x'


def paired_gap(values: dict, cond: str, a: str, b: str, metric: str = 'mean_online_accuracy'):
  """Learner a - learner b under condition `cond`, paired by seed (launch/claims.py), or None."""
  return claims.paired_gap(values.get((cond, a, metric), {}), values.get((cond, b, metric), {}))


def table_data(report) -> dict:
  """{'conditions': [(key, label)], 'learners': [...], 'values': {(label, learner, metric): {seed: value}}, ...}."""
  done = [r for r in report.runs if r.status == 'done' and r.final]
  base_lr = min(float(config_value(r, 'LR_INIT')) for r in done)
  values: dict[tuple, dict] = {}
  conditions: dict[str, tuple] = {}
  runs_of: dict[tuple, list] = {}
  for r in done:
    key, label = condition(r)
    conditions[label] = key
    name = learner(r, base_lr)
    runs_of.setdefault((label, name), []).append(r)
    for metric in ('mean_online_accuracy', 'mean_accuracy', 'mean_lr'):
      if metric in r.final:
        values.setdefault((label, name, metric), {})[config_value(r, 'SEED')] = r.final[metric]
  names = {n for _, n in runs_of}
  learners = [n for n in ORDER if n in names] + sorted(names - set(ORDER))
  return {
    'conditions': sorted(conditions, key=conditions.get),
    'learners': learners,
    'values': values,
    'runs_of': runs_of,
    'not_done': len(report.runs) - len(done),
  }


def concept_shift(report, out: str) -> str:
  data = table_data(report)
  conds, learners, values = data['conditions'], data['learners'], data['values']
  gaps = [g for g in GAPS + (MATCHED_GAP,) if g[0] in learners and g[1] in learners]
  seeds = sorted({len(v) for v in values.values()})
  lines = [
    f"Seeds per cell: {'/'.join(map(str, seeds))}. Online accuracy (the learner's guesses before each update) "
    'averaged over all epochs, mean ± sample std over seeds; gaps paired by seed, ± standard error.',
    '',
    '| shift | ' + ' | '.join(learners) + ' | ' + ' | '.join(f'{a} - {b}' for a, b in gaps) + ' |',
    '|---|' + '---|' * (len(learners) + len(gaps)),
  ]
  for c in conds:
    cells = [claims.seeds_cell(values.get((c, n, 'mean_online_accuracy'))) for n in learners]
    cells += [claims.gap_text(paired_gap(values, c, a, b)) for a, b in gaps]
    lines.append(f'| {c} | ' + ' | '.join(cells) + ' |')
  lines += [
    '',
    'Test accuracy (labels valid at the end of each epoch) averaged over all epochs, and the mean learning rate '
    '(eta averaged over every update), mean ± sample std over seeds:',
    '',
    '| shift | ' + ' | '.join(f'{n} test' for n in learners) + ' | ' + ' | '.join(f'{n} eta' for n in learners) + ' |',
    '|---|' + '---|' * (2 * len(learners)),
  ]
  for c in conds:
    cells = [claims.seeds_cell(values.get((c, n, 'mean_accuracy'))) for n in learners]
    cells += [claims.seeds_cell(values.get((c, n, 'mean_lr'))) for n in learners]
    lines.append(f'| {c} | ' + ' | '.join(cells) + ' |')
  if data['not_done']:
    lines += ['', f'{data["not_done"]} run(s) did not finish and are not counted (see "Not averaged").']
  if conds:
    path = _plot(data, gaps, os.path.join(out, 'concept_shift.png'))
    lines += ['', f'Plot: {os.path.basename(path)}.']
  return '\n'.join(lines) + '\n'


def _per_epoch(runs: list, key: str) -> list[float]:
  """The mean over runs of a train-row metric per epoch (from each run's metrics.jsonl)."""
  series = []
  for r in runs:
    with open(os.path.join(r.workdir, 'metrics.jsonl')) as f:
      rows = [json.loads(line) for line in f if line.strip()]
    series.append([row[key] for row in rows if row.get('split') == 'train' and key in row])
  length = min(len(s) for s in series)
  return [sum(s[i] for s in series) / len(series) for i in range(length)]


def _plot(data: dict, gaps, path: str) -> str:
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  values, learners = data['values'], data['learners']
  constant = [c for c in data['conditions'] if c.endswith('swaps/epoch')]
  seasonal = [c for c in data['conditions'] if c.startswith('seasonal')]
  fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
  x = range(len(constant))
  for n in learners:
    stats = [
      report_lib.stat(list(values.get((c, n, 'mean_online_accuracy'), {0: math.nan}).values())) for c in constant
    ]
    axes[0].errorbar(x, [s.mean for s in stats], yerr=[s.std or 0.0 for s in stats], label=n, capsize=3)
  for a, b in gaps:
    got = [paired_gap(values, c, a, b) or (math.nan, 0.0, 0) for c in constant]
    axes[1].errorbar(x, [g[0] for g in got], yerr=[g[1] or 0.0 for g in got], label=f'{a} - {b}', capsize=3)
  axes[1].axhline(0, color='k', lw=0.5)
  for ax, ylabel in ((axes[0], 'online accuracy (mean over epochs)'), (axes[1], 'online accuracy gap')):
    ax.set_xticks(list(x), [c.split()[0] for c in constant])
    ax.set_xlabel('label swaps per epoch')
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)
  if seasonal:
    for n in learners:
      runs = data['runs_of'].get((seasonal[0], n))
      if runs:
        axes[2].plot(_per_epoch(runs, 'online_accuracy'), label=n)
    runs = next(v for (c, _), v in data['runs_of'].items() if c == seasonal[0])
    twin = axes[2].twinx()
    swaps = _per_epoch(runs[:1], 'swaps')
    twin.bar(range(len(swaps)), swaps, alpha=0.15, color='gray')
    twin.set_ylabel('swaps in epoch')
    axes[2].set_xlabel('epoch')
    axes[2].set_ylabel('online accuracy')
    axes[2].set_title(seasonal[0])
    axes[2].legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=110, metadata={'Software': None})
  plt.close(fig)
  return path
