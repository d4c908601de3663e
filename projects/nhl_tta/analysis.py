"""The NHL results table, claim checks and plot, as an analysis that `launch report` calls on the sweep root:

  launch report /tmp/nhl --group_by=METHOD --metrics=online_accuracy,source_accuracy \
    --analysis=projects.nhl_tta.analysis:online --out=projects/nhl_tta/results

Every run is one (method, seed) of projects/nhl_tta/experiment.py (configs/nhl_tta/online.gin): a source model
trained on clean digits with SEED, then adapted online to the 12 corrupted domains, reset to the source model per
domain. A run's method is its METHOD; when one method appears with several step sizes under the root (a search),
each setting is its own row, labelled with ADAPT_LR / HEBBIAN_LR. Gaps are paired by seed (the same seed gives the
same source model, corruption noise and stream order), ± the standard error of the paired differences; the claim
"NHL above X" holds when the gap is positive by more than 2 standard errors, and is "not distinguishable" when it
lies within 2 standard errors of 0. Writes nhl_tta.png: online accuracy per domain (mean over seeds, read from
each run's domains.json) and per severity, one line per method.
"""

import math
import os

from launch import claims
from launch import report as report_lib
from launch.report import config_value

ORDER = ('source', 'norm', 'tent', 'hebbian', 'nhl')
STEP_SIZES = {'tent': ('ADAPT_LR',), 'hebbian': ('HEBBIAN_LR',), 'nhl': ('ADAPT_LR', 'HEBBIAN_LR')}
CLAIM_BASELINES = ('source', 'tent')  # the claim: NHL above source-only and TENT
OTHER_BASELINES = ('norm', 'hebbian')


def _setting(run) -> tuple:
  method = config_value(run, 'METHOD')
  return (method,) + tuple(config_value(run, k) for k in STEP_SIZES.get(method, ()))


def table_data(report) -> dict:
  """{'labels': [...], 'runs_of': {label: [runs]}, 'values': {(label, metric): {seed: v}}, 'severities', ...}."""
  done = [r for r in report.runs if r.status == 'done' and r.final]
  settings: dict[tuple, list] = {}
  for r in done:
    settings.setdefault(_setting(r), []).append(r)
  per_method: dict[str, int] = {}
  for s in settings:
    per_method[s[0]] = per_method.get(s[0], 0) + 1

  def label(s):
    if per_method[s[0]] == 1:
      return s[0]
    return f'{s[0]} (' + ', '.join(f'{k}={v:g}' for k, v in zip(STEP_SIZES[s[0]], s[1:])) + ')'

  order = sorted(settings, key=lambda s: (ORDER.index(s[0]) if s[0] in ORDER else len(ORDER), s))
  labels = [label(s) for s in order]
  runs_of = {label(s): settings[s] for s in order}
  values: dict[tuple, dict] = {}
  metrics = sorted({m for r in done for m in r.final})
  for lab, runs in runs_of.items():
    for r in runs:
      for m in metrics:
        if m in r.final:
          values.setdefault((lab, m), {})[config_value(r, 'SEED')] = float(r.final[m])
  severities = sorted(int(m[len('online_accuracy_sev') :]) for m in metrics if m.startswith('online_accuracy_sev'))
  corruptions = [
    m[len('online_accuracy_') :]
    for m in metrics
    if m.startswith('online_accuracy_') and not m.startswith('online_accuracy_sev')
  ]
  return {
    'labels': labels,
    'runs_of': runs_of,
    'values': values,
    'severities': severities,
    'corruptions': corruptions,
    'not_done': len(report.runs) - len(done),
  }


def online(report, out: str) -> str:
  data = table_data(report)
  labels, values = data['labels'], data['values']
  sev, cor = data['severities'], data['corruptions']
  columns = (
    [('online_accuracy', 'online (all 12 domains)')]
    + [(f'online_accuracy_sev{s}', f'severity {s}') for s in sev]
    + [(f'online_accuracy_{c}', c) for c in cor]
    + [('source_accuracy', 'clean test (source model)')]
  )
  lines = [
    'Online accuracy (each test batch predicted right after the method adapted on it), mean ± sample std over seeds.',
    '',
    '| method | ' + ' | '.join(name for _, name in columns) + ' |',
    '|---|' + '---|' * len(columns),
  ]
  for lab in labels:
    lines.append(f'| {lab} | ' + ' | '.join(claims.seeds_cell(values.get((lab, m))) for m, _ in columns) + ' |')
  nhl = [lab for lab in labels if lab.startswith('nhl')]
  if len(nhl) == 1 and len(labels) == len({lab.split(' ')[0] for lab in labels}):
    lines += [
      '',
      'Claim: NHL above source-only and TENT (online accuracy, gaps paired by seed ± standard error; NHL must be '
      'above by more than 2 SE to count). Other baselines for reference.',
      '',
      '| comparison | all domains | ' + ' | '.join(f'severity {s}' for s in sev) + ' | verdict (all domains) |',
      '|---|---|' + '---|' * len(sev) + '---|',
    ]
    for b in CLAIM_BASELINES + OTHER_BASELINES:
      if b not in labels:
        continue
      gaps = [claims.paired_gap(values.get(('nhl', m), {}), values.get((b, m), {})) for m in
              ['online_accuracy'] + [f'online_accuracy_sev{s}' for s in sev]]  # fmt: skip
      lines.append(f'| nhl - {b} | ' + ' | '.join(claims.gap_text(g) for g in gaps) + f' | {claims.above(gaps[0])} |')
  if data['not_done']:
    lines += ['', f'{data["not_done"]} run(s) did not finish and are not counted (see "Not averaged").']
  if labels:
    path = _plot(data, os.path.join(out, 'nhl_tta.png'))
    lines += ['', f'Plot: {os.path.basename(path)}.']
  return '\n'.join(lines) + '\n'


def per_domain(runs: list) -> tuple[list[str], list[float]]:
  """(domain names, mean online accuracy over the runs) from each run's domains.json."""
  names, sums, count = None, None, 0
  for r in runs:
    rows = report_lib.run_json(r, 'domains.json')
    if rows is None:
      continue
    accs = [row['online_accuracy'] for row in rows]
    if names is None:
      names, sums = [row['domain'] for row in rows], [0.0] * len(rows)
    sums = [a + b for a, b in zip(sums, accs)]
    count += 1
  if not count:
    return [], []
  return names, [s / count for s in sums]


def _plot(data: dict, path: str) -> str:
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  fig, axes = plt.subplots(1, 2, figsize=(14, 4), gridspec_kw={'width_ratios': [3, 1]})
  for lab in data['labels']:
    names, accs = per_domain(data['runs_of'][lab])
    if names:
      axes[0].plot(range(len(names)), accs, marker='o', label=lab)
      axes[0].set_xticks(range(len(names)), names, rotation=40, ha='right', fontsize=7)
    sev = data['severities']
    stats = [report_lib.stat(list(data['values'].get((lab, f'online_accuracy_sev{s}'), {0: math.nan}).values()))
             for s in sev]  # fmt: skip
    axes[1].errorbar(sev, [s.mean for s in stats], yerr=[s.std or 0.0 for s in stats], marker='o', capsize=3, label=lab)
  axes[0].set_ylabel('online accuracy (mean over seeds)')
  axes[0].set_title('per domain (corruption@severity)', fontsize=10)
  axes[1].set_xlabel('severity')
  axes[1].set_xticks(data['severities'])
  axes[1].set_title('mean over corruptions ± std over seeds', fontsize=10)
  for ax in axes:
    ax.grid(alpha=0.3)
  axes[0].legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=110, metadata={'Software': None})
  plt.close(fig)
  return path
