"""The maze table (per model and maze size, mean ± std over seeds) and generalisation.png, as a `launch report`
analysis.

  launch report ROOT --group_by=MODEL --analysis=projects.ctm_maze.analysis:generalisation

ROOT holds finished runs of projects/ctm_maze/experiment.py (configs/ctm_maze/, e.g. the sweep
configs/ctm_maze/sweeps/models.py): final metrics size{S}_{step_accuracy, route_accuracy, solved_first, solved,
mean_applications, mean_route_length} for the training size and every larger test size, and each run's
generalisation.json (per test maze: route length, solved, applications). A run's model is named by its MODEL
binding (or experiment.run.model in configs without the macro): CTM, LSTMBaseline. Every report group is one row
block; groups that differ in more than the model say so in their label.

Writes <out>/generalisation.png: left, the fraction of test mazes solved (re-applied) and whole routes right in one
application against maze size (mean ± std over seeds); right, the solved rate against route length (deciles of
route length over all sizes and seeds), with the route head's length L marked.

The claim lines judge the paper's comparison, the CTM above its parameter-matched LSTM (parameters within 1%), per
maze size on the solved rate (re-applied) and the per-step accuracy, from seed-paired gaps (launch/claims.py).
"""

import os
import re

from launch import claims
from launch import report as report_lib

COLUMNS = (
  ('step_accuracy', 'step acc. (first L moves)'),
  ('route_accuracy', 'whole route (first L moves)'),
  ('solved_first', 'solved, 1 application'),
  ('solved', 'solved, re-applied'),
  ('mean_applications', 'applications (solved)'),
  ('mean_route_length', 'route length'),
)
MODEL_KEYS = ('MODEL', 'experiment.run.model')
CLAIM_METRICS = (('solved', 'solved, re-applied'), ('step_accuracy', 'step accuracy'))


def model_name(run: report_lib.Run) -> str:
  """'CTM', 'LSTMBaseline', ... from the run's MODEL (or experiment.run.model) binding."""
  for key in MODEL_KEYS:
    for k, v in run.values.items():
      if (k == key or k.endswith('.' + key)) and isinstance(v, dict) and '@' in v:
        return v['@'].rpartition('.')[2]
  return '?'


def sizes_of(final: dict) -> list[int]:
  return sorted({int(m.group(1)) for k in final if (m := re.fullmatch(r'size(\d+)_solved', k))})


def label(report: report_lib.Report, group: report_lib.Group) -> str:
  """The model, plus the group's other config values that are not the model's own (USE_MOST_CERTAIN goes with it)."""
  name = model_name(group.runs[0])
  rest = [
    f'{report.labels[k]}={v}'
    for k, v in group.config.items()
    if not any(k == m or k.endswith('.' + m) for m in (*MODEL_KEYS, 'USE_MOST_CERTAIN', 'use_most_certain'))
  ]
  return name + (f' ({", ".join(rest)})' if rest else '')


def rows(report: report_lib.Report) -> list[tuple[report_lib.Group, str, int, int, dict]]:
  """[(group, label, params, seeds, {size: {metric: Stat}})] for the groups whose runs have per-size metrics."""
  out = []
  for group in report.groups:
    sizes = sorted(set.intersection(*(set(sizes_of(r.final)) for r in group.runs)))
    if not sizes:
      continue
    per_size = {}
    for size in sizes:
      stats = {}
      for key, _ in COLUMNS:
        values = [float(r.final[f'size{size}_{key}']) for r in group.runs if f'size{size}_{key}' in r.final]
        values = [v for v in values if v == v]  # mean_applications is NaN when nothing was solved
        if values:
          stats[key] = report_lib.stat(values)
      per_size[size] = stats
    params = int(group.runs[0].final.get('num_params', 0))
    out.append((group, label(report, group), params, len(group.runs), per_size))
  return out


def generalisation(report: report_lib.Report, out_dir: str) -> str:
  """The README's table (Markdown) and generalisation.png; see the module docstring."""
  table = rows(report)
  if not table:
    return 'No finished maze runs (final metrics size<S>_*: projects/ctm_maze/experiment.py) under the root.'
  lines = [
    'Mean ± std over n seeds (sample std, ddof=1). Route head L moves; "first L moves" scores one application '
    'against the route truncated to L; "re-applied" walks the predicted moves and re-applies the model from where '
    'they ended (projects/ctm_maze/experiment.py).',
    '',
    '| model | params | n | maze | ' + ' | '.join(text for _, text in COLUMNS) + ' |',
    '|---|---|---|---|' + '---|' * len(COLUMNS),
  ]
  for _, name, params, n, per_size in table:
    for size, stats in per_size.items():
      cells = [report_lib.fmt_stat(stats.get(key)) for key, _ in COLUMNS]
      lines.append(f'| {name} | {params:,} | {n} | {size}x{size} | ' + ' | '.join(cells) + ' |')
  lines += claim_lines(table)
  path = plot(table, os.path.join(out_dir, 'generalisation.png'))
  lines += ['', f'Plot: {os.path.basename(path)} (solved and whole-route rates by maze size; solved by route length).']
  return '\n'.join(lines) + '\n'


def claim_lines(table) -> list[str]:
  """'CTM above the matched LSTM' per maze size and CLAIM_METRICS key, as Markdown table lines (module docstring)."""

  def per_seed(group, size, key):
    return claims.by_seed(group.runs, lambda r: r.final.get(f'size{size}_{key}'), finite_only=True)

  def rows_of(model: str):
    return [row for row in table if model_name(row[0].runs[0]) == model]

  out = []
  for ctm, ctm_name, ctm_params, _, ctm_sizes in rows_of('CTM'):
    for lstm, lstm_name, lstm_params, _, lstm_sizes in rows_of('LSTMBaseline'):
      if abs(lstm_params - ctm_params) > 0.01 * ctm_params:
        continue
      for size in sorted(set(ctm_sizes) & set(lstm_sizes)):
        for key, text in CLAIM_METRICS:
          gap = claims.paired_gap(per_seed(ctm, size, key), per_seed(lstm, size, key))
          out.append(
            f'| CTM above matched LSTM ({text}) | {size}x{size}; {ctm_name} vs {lstm_name} | '
            f'{claims.gap_text(gap)} | {claims.above(gap)} |'
          )
  if not out:
    return []
  header = ['', 'Claims, seed-paired (gap = CTM - LSTM ± its standard error):', '']
  return header + ['| claim | condition | gap | verdict |', '|---|---|---|---|', *out]


def plot(table, path: str) -> str:
  """generalisation.png from rows(report) and the runs' generalisation.json files."""
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt
  import numpy as np

  fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
  route_length = None
  for i, (group, name, _, _, per_size) in enumerate(table):
    sizes = list(per_size)
    for key, style, what in (('solved', '-o', 'solved (re-applied)'), ('route_accuracy', '--s', 'whole route, 1 app.')):
      stats = [per_size[s].get(key) for s in sizes]
      ax1.errorbar(
        sizes, [s.mean for s in stats], yerr=[s.std or 0.0 for s in stats], fmt=style, capsize=3, color=f'C{i}',
        label=f'{name}: {what}',
      )  # fmt: skip
    gens = [g for g in (report_lib.run_json(r, 'generalisation.json') for r in group.runs) if g]
    if gens:
      route_length = gens[0].get('route_length', route_length)
      lengths = np.concatenate([g['sizes'][s]['route_length'] for g in gens for s in g['sizes']]).astype(float)
      solved = np.concatenate([g['sizes'][s]['solved'] for g in gens for s in g['sizes']]).astype(float)
      edges = np.unique(np.quantile(lengths, np.linspace(0, 1, 11)))
      which = np.clip(np.digitize(lengths, edges[1:-1]), 0, max(len(edges) - 2, 0))
      bins = [b for b in range(max(len(edges) - 1, 1)) if (which == b).any()]
      centres = [lengths[which == b].mean() for b in bins]
      ax2.plot(centres, [solved[which == b].mean() for b in bins], '-o', color=f'C{i}', label=name)
  ax1.set(xlabel='maze size (pixels per side)', ylabel='fraction of test mazes', title='by maze size (mean ± std)')
  ax1.legend(fontsize=7)
  if route_length:
    ax2.axvline(route_length, color='grey', ls=':', label=f'route head L={route_length}')
  ax2.set(xlabel='route length (moves)', ylabel='solved (re-applied)', title='by route length (all sizes, seeds)')
  ax2.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=100, metadata={'Software': None})
  plt.close(fig)
  return path
