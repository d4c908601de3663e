"""The power-law rehearsal table, as a `launch report` analysis: the continual table plus forward facilitation.

  launch report /tmp/cl/digits/rehearsal --group_by=trainer.train.learner,Rehearsal.schedule,Rehearsal.exponent \
    --analysis=projects.power_law_rehearsal.analysis:rehearsal --out=projects/power_law_rehearsal/results/digits

Everything of common.continual.report.continual (table in percentage points, summary.png, matrices.png), plus
facilitation.png and a column for it: the mean training loss of the first logged chunk (LOG_EVERY steps) of every
task, from each run's metrics.jsonl. A learner with forward facilitation learns later tasks faster, so this early
loss falls along the stream. Caveat (README): with rehearsal the loss also averages over the replayed examples,
which are already learned, so it is biased low for the rehearsal rows.
"""

import json
import os
from typing import Any

import numpy as np

from common.continual import report as cl_report


def config_value(values: dict, key: str, default: Any = None) -> Any:
  """The value of config key `key` (ending in `key` when not exact), macro references followed."""
  if key not in values:
    key = next((k for k in values if k.endswith('.' + key)), key)
  value = values.get(key, default)
  while isinstance(value, dict) and set(value) == {'%'}:
    value = values.get(value['%'], default)
  return value


def early_losses(workdir: str, steps_per_task: int) -> np.ndarray:
  """(T,) train loss of the first logged chunk of every task, in stream order (empty without metrics.jsonl).

  A train row logged at step s averages the steps of its chunk, so the first row with s > t * steps_per_task is
  the first chunk of task t.
  """
  path = os.path.join(workdir, 'metrics.jsonl')
  if not os.path.isfile(path):
    return np.zeros(0)
  first: dict[int, float] = {}
  with open(path) as f:
    for line in f:
      row = json.loads(line) if line.strip() else {}
      if row.get('split') == 'train' and 'loss' in row:
        first.setdefault((int(row['step']) - 1) // steps_per_task, float(row['loss']))
  return np.array([first[t] for t in sorted(first)])


def facilitation(table_rows, runs_of) -> dict[str, np.ndarray]:
  """{row label: (n, T) early losses} for the rows whose runs all logged every task."""
  out = {}
  for row in table_rows:
    curves = []
    for run in runs_of[row.workdirs]:
      steps = int(config_value(run.values, 'trainer.train.steps_per_task'))
      curves.append(early_losses(run.workdir, steps))
    if curves and len({c.size for c in curves}) == 1 and curves[0].size:
      out[row.label] = np.stack(curves)
  return out


def plot_facilitation(curves: dict[str, np.ndarray], png_path: str) -> str | None:
  if not curves:
    return None
  plt = cl_report._pyplot()
  fig, ax = plt.subplots(figsize=(6, 3.8))
  for label, c in curves.items():
    ax.plot(np.arange(1, c.shape[1] + 1), c.mean(0), marker='.', label=label)
  ax.set_xlabel('task')
  ax.set_ylabel('train loss, first logged chunk of the task')
  ax.set_yscale('log')
  ax.legend(fontsize=6)
  fig.tight_layout()
  fig.savefig(png_path, dpi=90, metadata={'Software': None})
  plt.close(fig)
  return png_path


def rehearsal(report, out_dir: str) -> str:
  """The `launch report --analysis` entry: the continual table, then facilitation.png and its numbers."""
  text = cl_report.continual(report, out_dir)
  table_rows = cl_report.rows(report)
  runs_of = {tuple(r.workdir for r in g.runs): g.runs for g in report.groups}
  curves = facilitation(table_rows, runs_of)
  plot_facilitation(curves, os.path.join(out_dir, 'facilitation.png'))
  body = [
    [label, cl_report.mean_std(c[:, 0], 3), cl_report.mean_std(c[:, 1:].mean(1), 3)] for label, c in curves.items()
  ]
  header = ['row', 'first-chunk loss, task 1', 'first-chunk loss, tasks 2..T (mean)']
  return (
    text + '\n\nForward facilitation (facilitation.png): training loss of the first logged chunk of each task, mean ± '
    'sample std over runs.\n\n' + cl_report.md_table(header, body)
  )
