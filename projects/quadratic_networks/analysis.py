"""The paper's tables, as analyses that `launch report` calls on a sweep root (`--analysis=<this module>:<fn>`).

trainability(report, out): per (optimizer, variant) the collapse rate and the accuracy of the runs that did not
  collapse, plus trainability.png (every seed's accuracy, collapsed runs at 0). A run collapsed when its values
  became non-finite (the engine stopped it: status 'failed' with TrainingDiverged, no final metrics) or when it
  finished at accuracy <= CHANCE + MARGIN. Runs still running or killed count nowhere and are listed apart.
expressivity(report, out): per task and parameter budget, the quadratic network against the conventional ones.

Both read only the Report (launch/report.py): every run's config values and final metrics or failure.
"""

import os
from typing import Any

from launch import report as report_lib
from launch.report import config_value

CHANCE = 0.1  # digits: 10 classes
MARGIN = 0.05  # collapsed: accuracy <= chance + this margin (or non-finite values)
DIVERGED = 'TrainingDiverged'


def collapsed(run) -> bool | None:
  """True: non-finite values or chance accuracy; False: trained; None: not finished (running, killed)."""
  if run.status == 'failed' and DIVERGED in (run.detail or ''):
    return True
  if run.status != 'done' or run.final is None or 'accuracy' not in run.final:
    return None
  return run.final['accuracy'] <= CHANCE + MARGIN


def _optimizer(run) -> str:
  return f'{config_value(run, "OPTIMIZER")}_{config_value(run, "LEARNING_RATE"):g}'


def _variant(run) -> tuple[tuple, str]:
  """(sort key, label): conventional, naive init, ReLinear x<multiplier> [+ shrink <alpha>]."""
  model = (config_value(run, 'loop.train.model') or {}).get('@', '')
  if not model.endswith('QuadraticMLP'):
    return (0, 0.0, 0.0), 'conventional'
  if config_value(run, 'QuadraticMLP.init_scheme') == 'naive':
    return (1, 0.0, 0.0), 'naive init'
  mult = float(config_value(run, 'QUAD_LR_MULTIPLIER', 1.0))
  shrink = float(config_value(run, 'QuadraticMLP.shrink_g', 0.0) or 0.0)
  label = f'ReLinear x{mult:g}' + (f' + shrink {shrink:g}' if shrink else '')
  return (2 if not shrink else 3, -mult if shrink else mult, shrink), label


def trainability_rows(report) -> list[dict]:
  """One row per (optimizer, variant) over every run under the root, in the paper's order."""
  cells: dict[tuple, dict] = {}
  for run in report.runs:
    order, label = _variant(run)
    opt = _optimizer(run)
    cell = cells.setdefault((opt, order), {'optimizer': opt, 'variant': label, 'runs': []})
    cell['runs'].append(run)
  optimizers = list(dict.fromkeys(_optimizer(r) for r in sorted(report.runs, key=_sgd_first)))
  rows = []
  for _, cell in sorted(cells.items(), key=lambda kv: (optimizers.index(kv[0][0]), kv[0][1])):
    verdicts = [(r, collapsed(r)) for r in cell['runs']]
    counted = [(r, c) for r, c in verdicts if c is not None]
    trained = [r.final['accuracy'] for r, c in counted if c is False]
    cell.update(
      n=len(counted),
      non_finite=sum(1 for r, c in counted if c and r.status == 'failed'),
      at_chance=sum(1 for r, c in counted if c and r.status == 'done'),
      unfinished=len(verdicts) - len(counted),
      accuracy=report_lib.stat(trained) if trained else None,
      per_seed=[(config_value(r, 'SEED'), 0.0 if c else r.final['accuracy']) for r, c in counted],
    )
    rows.append(cell)
  return rows


def _sgd_first(run):
  return (config_value(run, 'OPTIMIZER') != 'sgd', str(config_value(run, 'OPTIMIZER')))


def trainability(report, out: str) -> str:
  rows = trainability_rows(report)
  lines = [
    f'Collapse = non-finite values (the engine stopped the run: failed, TrainingDiverged) or test accuracy <= '
    f'{CHANCE + MARGIN:.2f}; '
    'accuracy is over the runs that did not collapse (mean ± sample std).',
    '',
    '| optimizer | variant | runs | collapsed (non-finite + at chance) | collapse rate | accuracy, not collapsed |',
    '|---|---|---|---|---|---|',
  ]
  for r in rows:
    k = r['non_finite'] + r['at_chance']
    rate = f'{k / r["n"]:.1f}' if r['n'] else '-'
    acc = '-' if r['accuracy'] is None else report_lib.fmt_stat(r['accuracy']) + f' (n={r["accuracy"].n})'
    extra = f' ({r["unfinished"]} unfinished, not counted)' if r['unfinished'] else ''
    lines.append(
      f'| {r["optimizer"]} | {r["variant"]} | {r["n"]}{extra} | {k} ({r["non_finite"]} + {r["at_chance"]}) '
      f'| {rate} | {acc} |'
    )
  if rows:
    path = _plot_trainability(rows, os.path.join(out, 'trainability.png'))
    lines += ['', f'Plot: {os.path.basename(path)} (every seed; collapsed runs at 0).']
  return '\n'.join(lines) + '\n'


def _plot_trainability(rows: list[dict], path: str) -> str:
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  opts = list(dict.fromkeys(r['optimizer'] for r in rows))
  fig, axes = plt.subplots(1, len(opts), figsize=(5.5 * len(opts), 3.8), squeeze=False)
  for ax, opt in zip(axes[0], opts):
    sub = [r for r in rows if r['optimizer'] == opt]
    for i, r in enumerate(sub):
      accs = [a for _, a in sorted(r['per_seed'], key=lambda p: p[0])]
      offsets = [i + (j - (len(accs) - 1) / 2) * 0.3 / max(len(accs) - 1, 1) for j in range(len(accs))]
      ax.scatter(offsets, accs, s=12)
      k = r['non_finite'] + r['at_chance']
      ax.text(i, 1.02, f'collapse {k}/{r["n"]}', ha='center', fontsize=7)
    ax.set_xticks(range(len(sub)), [r['variant'] for r in sub], rotation=30, ha='right', fontsize=8)
    ax.set_ylim(0, 1.08)
    ax.set_ylabel('test accuracy (collapsed runs at 0)')
    ax.set_title(f'digits, 4-layer MLP, {opt}')
  fig.tight_layout()
  fig.savefig(path, dpi=110, metadata={'Software': None})
  plt.close(fig)
  return path


def _model_label(group) -> str:
  run = group.runs[0]
  model = (config_value(run, 'loop.train.model') or {}).get('@', '')
  if model.endswith('QuadraticMLP'):
    return 'quadratic (fan, ReLU)'
  return 'conventional (x^2 activation)' if config_value(run, 'MLP.act') == 'square' else 'conventional (ReLU)'


MODELS = ('quadratic (fan, ReLU)', 'conventional (ReLU)', 'conventional (x^2 activation)')


def expressivity(report, out: str) -> str:
  """Per task and parameter budget (the quadratic width and the conventional width matched to it): test metric."""
  del out
  cells: dict[tuple, Any] = {}  # (task, budget index, model label) -> group
  for g in report.groups:
    label, run = _model_label(g), g.runs[0]
    widths = sorted({config_value(h.runs[0], 'WIDTH') for h in report.groups if _model_label(h) == label})
    cells[(config_value(run, 'shapes2d.load.name'), widths.index(config_value(run, 'WIDTH')), label)] = g
  lines = [
    'Per parameter budget (quadratic width 4 ~ conventional width 8; 8 ~ 15): accuracy (higher is better) or RMSE '
    '(lower is better), mean ± sample std over seeds, [parameters]; the best of each budget in bold.',
    '',
    '| task | metric | budget | ' + ' | '.join(MODELS) + ' |',
    '|---|---|---|---|---|---|',
  ]
  for task, budget in sorted({(t, b) for t, b, _ in cells}):
    groups = {m: cells[(task, budget, m)] for m in MODELS if (task, budget, m) in cells}
    metric = 'rmse' if any('rmse' in g.stats for g in groups.values()) else 'accuracy'
    stats = {m: g.stats[metric] for m, g in groups.items() if metric in g.stats}
    if not stats:
      continue
    best = (min if metric == 'rmse' else max)(stats, key=lambda m: stats[m].mean)
    shown = []
    for m in MODELS:
      if m not in stats:
        shown.append('-')
        continue
      text = report_lib.fmt_stat(stats[m])
      params = groups[m].stats.get('num_params')
      shown.append((f'**{text}**' if m == best else text) + (f' [{params.mean:.0f}]' if params else ''))
    lines.append(f'| {task} | {metric} | {("small", "large")[budget]} | ' + ' | '.join(shown) + ' |')
  return '\n'.join(lines) + '\n'
