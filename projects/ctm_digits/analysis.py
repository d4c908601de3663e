"""The adaptive-compute tables (mean ± std over seeds of each run's halting.json) and halting.png, as a
`launch report` analysis.

  launch report ROOT --analysis=projects.ctm_digits.analysis:halting

ROOT holds finished runs of projects/ctm_digits/experiment.py (e.g. the sweep configs/ctm_digits/sweeps/seeds.py);
each run's halting.json has the accuracy and mean certainty at every tick and, per certainty threshold, the accuracy
of the halted predictions, the mean ticks used and how they relate to difficulty. One pair of tables per report
group (the groups differ in the config keys the report groups by); finished runs without halting.json are counted
and left out. Writes <out>/halting.png: accuracy and mean certainty per tick, and accuracy against mean ticks used
at each threshold (mean ± std over seeds; the first group's runs).
"""

import os

from launch import report as report_lib

THRESHOLD_COLUMNS = (
  ('accuracy', 'accuracy'),
  ('mean_ticks', 'mean ticks'),
  ('halted_fraction', 'halted'),
)


def _stat(values) -> str:
  values = [float(v) for v in values if v is not None]
  return report_lib.fmt_stat(report_lib.stat(values)) if values else '-'


def tables(results: list[dict]) -> list[str]:
  """Markdown lines: per-tick accuracy and certainty, then the adaptive-halting numbers per threshold."""
  ticks = len(results[0]['accuracy_per_tick'])
  lines = [
    f'{len(results)} seeds, {results[0]["num_examples"]} test digits each.',
    '',
    '| tick | ' + ' | '.join(str(t + 1) for t in range(ticks)) + ' |',
    '|---|' + '---|' * ticks,
  ]
  for key, text in (('accuracy_per_tick', 'accuracy'), ('certainty_per_tick', 'mean certainty')):
    lines.append(f'| {text} | ' + ' | '.join(_stat([r[key][t] for r in results]) for t in range(ticks)) + ' |')
  lines += [
    '',
    '| threshold | accuracy | mean ticks | halted | ticks: correct / wrong | ticks: easy half / hard half |'
    ' Spearman(ticks, difficulty) |',
    '|---|---|---|---|---|---|---|',
  ]
  for thr in results[0]['thresholds']:
    get = lambda k, thr=thr: _stat([r['thresholds'][thr].get(k) for r in results])  # noqa: E731
    lines.append(
      f'| {thr} | {get("accuracy")} | {get("mean_ticks")} | {get("halted_fraction")} |'
      f' {get("mean_ticks_correct")} / {get("mean_ticks_wrong")} |'
      f' {get("mean_ticks_easy_half")} / {get("mean_ticks_hard_half")} | {get("spearman_ticks_vs_difficulty")} |'
    )
  return lines


def halting(report: report_lib.Report, out_dir: str) -> str:
  """The README's tables (Markdown) and halting.png; see the module docstring."""
  lines, first = [], None
  for group in report.groups:
    results = [h for h in (report_lib.run_json(r, 'halting.json') for r in group.runs) if h]
    if not results:
      continue
    first = first or results
    if len(report.groups) > 1:
      lines += [f'### {", ".join(f"{report.labels[k]}={v}" for k, v in group.config.items())}', '']
    lines += tables(results)
    missing = len(group.runs) - len(results)
    lines += [f'({missing} finished run(s) without halting.json left out.)'] if missing else []
    lines.append('')
  if first is None:
    return 'No finished runs with halting.json (projects/ctm_digits/experiment.py) under the root.'
  path = plot(first, os.path.join(out_dir, 'halting.png'))
  lines.append(f'Plot: {os.path.basename(path)} (per-tick accuracy and certainty; accuracy vs ticks per threshold).')
  return '\n'.join(lines) + '\n'


def plot(results: list[dict], path: str) -> str:
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt
  import numpy as np

  fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
  t = np.arange(1, len(results[0]['accuracy_per_tick']) + 1)
  for key, text in (('accuracy_per_tick', 'accuracy'), ('certainty_per_tick', 'mean certainty')):
    values = np.array([r[key] for r in results])
    ax1.errorbar(t, values.mean(0), yerr=values.std(0, ddof=1) if len(values) > 1 else None, marker='.', label=text)
  ax1.set(xlabel='internal tick', title=f'digits: all ticks run ({len(results)} seeds)')
  ax1.legend()
  for thr in results[0]['thresholds']:
    acc = np.array([r['thresholds'][thr]['accuracy'] for r in results])
    ticks = np.array([r['thresholds'][thr]['mean_ticks'] for r in results])
    spread = len(results) > 1
    ax2.errorbar(
      ticks.mean(), acc.mean(), xerr=ticks.std(ddof=1) if spread else None, yerr=acc.std(ddof=1) if spread else None,
      marker='o', capsize=3, label=f'threshold {thr}',
    )  # fmt: skip
  ax2.set(xlabel='mean ticks used', ylabel='accuracy of halted predictions', title='adaptive halting (mean ± std)')
  ax2.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=100, metadata={'Software': None})
  plt.close(fig)
  return path
