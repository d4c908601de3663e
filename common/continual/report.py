"""The continual-learning analysis that `launch report` calls: a percentage-point table and the summary plots.

  launch report ROOT --group_by=trainer.train.learner[,KEY...] --analysis=common.continual.report:continual \
    --out=projects/<p>/results/<table>

ROOT holds runs of `common.continual.trainer.train` (any sweep, any depth). `continual(report, out_dir)` takes the
groups `launch report` built (one per value of the --group_by keys; the seeds of a group are its runs) and, from
each finished run's final_metrics.json and accuracy_matrix.json:

  - returns a Markdown table, one row per group: the learner's name (its class's `name`: finetune, ewc, hlop, ...),
    the other grouping keys (blank where a run does not bind them), n, and ACC, BWT, forgetting, FWT and learning
    accuracy in percentage points as mean ± sample std over the group's runs (ddof=1, as launch report's own table);
  - writes `summary.png` (left: ACC and BWT per row; right: mean accuracy over the tasks seen so far, after each
    task) and `matrices.png` (every row's seed-mean accuracy matrix) into out_dir.

Projects with more to say wrap it (projects/power_law_rehearsal/analysis.py adds forward facilitation).
`report` is duck-typed (common/ never imports launch/): what is read is `report.keys`, `report.labels` and
`report.groups`, each group's `config` (key -> gin text, '(unset)' when a run lacks the key) and `runs`, each run's
`workdir`, `values` (key -> JSON value) and `final` (numeric final metrics).
"""

import dataclasses
import importlib
import json
import math
import os
from typing import Any, Sequence

import numpy as np

METRICS = ('acc', 'bwt', 'forgetting', 'fwt', 'learning_acc')
HEADERS = {'acc': 'ACC', 'bwt': 'BWT', 'forgetting': 'forgetting', 'fwt': 'FWT', 'learning_acc': 'learning acc'}
LEARNER_SUFFIX = '.train.learner'
UNSET = '(unset)'  # what launch report puts in a group's config for a key that its runs do not bind


@dataclasses.dataclass(frozen=True)
class Row:
  """One group of runs: its learner, the other grouping values, final metrics and accuracy matrices.

  columns: grouping key label -> gin text ('' when unset); metrics: name -> (n,) values in percentage points;
  matrices: (n, T, T) accuracy matrices of the runs that wrote one (acc[i, j] = task j after training task i).
  """

  learner: str
  columns: dict[str, str]
  metrics: dict[str, np.ndarray]
  matrices: np.ndarray | None
  workdirs: tuple[str, ...]

  @property
  def n(self) -> int:
    return len(self.workdirs)

  @property
  def label(self) -> str:
    """Short name for plots: the learner, then the other grouping values that are set."""
    extra = [f'{k.rpartition(".")[2]}={v}' for k, v in self.columns.items() if v]
    return self.learner + (f' ({", ".join(extra)})' if extra else '')


def learner_name(value: Any, text: str = '') -> str:
  """The learner's `name` from its config value ({'@': 'common.continual.regularizers.EWC', ...} -> 'ewc')."""
  path = value.get('@', '') if isinstance(value, dict) else ''
  module, _, cls = path.rpartition('.')
  if not module:
    return text or '?'
  try:  # the class's own name attribute (projects may define learners): import only when a report asks
    name = getattr(importlib.import_module(module), cls).name
  except (ImportError, AttributeError):
    name = None
  return name if isinstance(name, str) else cls


def read_matrix(workdir: str) -> np.ndarray | None:
  """The (T, T) accuracy matrix a continual run wrote (None when it wrote none)."""
  path = os.path.join(workdir, 'accuracy_matrix.json')
  if not os.path.isfile(path):
    return None
  with open(path) as f:
    return np.asarray(json.load(f)['acc'], np.float64)


def rows(report) -> list[Row]:
  """One Row per group of `report` (launch.report.Report), in the report's order."""
  learner_keys = [k for k in report.keys if k.endswith(LEARNER_SUFFIX)]
  out = []
  for g in report.groups:
    runs = list(g.runs)
    first = runs[0]
    key = learner_keys[0] if learner_keys else next((k for k in first.values if k.endswith(LEARNER_SUFFIX)), None)
    learner = learner_name(first.values.get(key), g.config.get(key, '')) if key else '?'
    columns = {report.labels[k]: ('' if g.config[k] == UNSET else g.config[k]) for k in report.keys if k != key}
    metrics = {m: 100 * np.array([r.final[m] for r in runs if m in r.final], np.float64) for m in METRICS}
    mats = [m for m in (read_matrix(r.workdir) for r in runs) if m is not None]
    same = mats and all(m.shape == mats[0].shape for m in mats)
    out.append(Row(learner, columns, metrics, np.stack(mats) if same else None, tuple(r.workdir for r in runs)))
  return out


def mean_std(values: Sequence[float], digits: int = 1) -> str:
  """'75.1 ± 1.3' (sample std, ddof=1); the mean alone for one value; 'n/a' for none."""
  v = np.asarray(values, np.float64)
  if v.size == 0:
    return 'n/a'
  if v.size == 1 or not math.isfinite(float(v.std())):
    return f'{v.mean():.{digits}f}'
  return f'{v.mean():.{digits}f} ± {v.std(ddof=1):.{digits}f}'


def md_table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
  esc = lambda c: str(c).replace('|', '\\|')  # noqa: E731
  lines = ['| ' + ' | '.join(map(esc, header)) + ' |', '|' + '---|' * len(header)]
  return '\n'.join(lines + ['| ' + ' | '.join(map(esc, r)) + ' |' for r in body])


def table(table_rows: Sequence[Row], metrics: Sequence[str] = METRICS) -> str:
  """Markdown: learner, the other grouping columns, n, then each metric in percentage points (mean ± std)."""
  columns = list(table_rows[0].columns) if table_rows else []
  header = ['learner', *columns, 'n', *(HEADERS.get(m, m) for m in metrics)]
  body = [
    [r.learner, *(r.columns.get(c, '') for c in columns), str(r.n), *(mean_std(r.metrics.get(m, [])) for m in metrics)]
    for r in table_rows
  ]
  return md_table(header, body)


def seen_accuracy(matrix: np.ndarray) -> np.ndarray:
  """(T,) mean accuracy over tasks 0..i after training task i, from a (T, T) matrix."""
  return np.array([matrix[i, : i + 1].mean() for i in range(matrix.shape[0])])


def _pyplot():
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  return plt


def plot_summary(table_rows: Sequence[Row], png_path: str, title: str = '') -> str | None:
  """Left: ACC and BWT per row (mean, std bars). Right: mean accuracy on seen tasks after each task.

  Rows are numbered in both panels and named in a key under them: a row's label carries every grouping value
  (e.g. `hlop (hebbian_schedule='after_task', hebbian_multiplier=5, first_task_size=(24, 64, 64))`), which as a
  tick label or legend entry would squeeze the axes.
  """
  table_rows = [r for r in table_rows if r.n]
  if not table_rows:
    return None
  plt = _pyplot()
  key_inches = 0.115 * len(table_rows) + 0.15  # 7-point lines
  height = 3.8 + key_inches
  fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(12, height))
  x = np.arange(len(table_rows))
  numbers = [str(i + 1) for i in x]
  for offset, key in ((-0.2, 'acc'), (0.2, 'bwt')):
    vals = [r.metrics[key] for r in table_rows]
    means = [v.mean() if v.size else np.nan for v in vals]
    stds = [v.std(ddof=1) if v.size > 1 else 0.0 for v in vals]
    ax0.bar(x + offset, means, 0.4, yerr=stds, label=HEADERS[key])
  ax0.axhline(0, color='k', lw=0.5)
  ax0.set_xticks(x, numbers)
  ax0.set_xlabel('row (key below)')
  ax0.set_ylabel('percentage points')
  ax0.legend()
  for number, r in zip(numbers, table_rows):
    if r.matrices is not None:
      curves = 100 * np.stack([seen_accuracy(m) for m in r.matrices])
      ax1.plot(np.arange(1, curves.shape[1] + 1), curves.mean(0), marker='.', label=number)
  ax1.set_xlabel('tasks learned')
  ax1.set_ylabel('mean accuracy on seen tasks (%)')
  if ax1.lines:
    ax1.legend(fontsize=7, ncol=2, title='row', title_fontsize=7)
  key = '\n'.join(f'{number:>3}  {r.label} (n={r.n})' for number, r in zip(numbers, table_rows))
  fig.text(0.01, 0.01, key, fontsize=7, family='monospace', va='bottom')
  if title:
    fig.suptitle(title)
  fig.subplots_adjust(left=0.06, right=0.98, top=0.92 if title else 0.96, wspace=0.2,
                      bottom=(key_inches + 0.7) / height)  # fmt: skip
  fig.savefig(png_path, dpi=90, metadata={'Software': None})
  plt.close(fig)
  return png_path


def plot_matrices(table_rows: Sequence[Row], png_path: str) -> str | None:
  """Every row's seed-mean accuracy matrix side by side (None when no run wrote one)."""
  table_rows = [r for r in table_rows if r.matrices is not None]
  if not table_rows:
    return None
  plt = _pyplot()
  cols = min(len(table_rows), 5)
  nrows = math.ceil(len(table_rows) / cols)
  fig, axes = plt.subplots(nrows, cols, figsize=(2.8 * cols, 3.0 * nrows), squeeze=False)
  for ax in axes.flat[len(table_rows) :]:
    ax.axis('off')
  for ax, r in zip(axes.flat, table_rows):
    ax.imshow(r.matrices.mean(0), vmin=0, vmax=1, cmap='viridis')
    ax.set_title(r.label, fontsize=7)
    ax.set_xlabel('task j', fontsize=7)
    ax.set_ylabel('after task i', fontsize=7)
  fig.tight_layout()
  fig.savefig(png_path, dpi=90, metadata={'Software': None})
  plt.close(fig)
  return png_path


def continual(report, out_dir: str) -> str:
  """The `launch report --analysis` entry: the percentage-point table; summary.png and matrices.png in out_dir."""
  table_rows = rows(report)
  if not table_rows:
    return 'No finished continual runs.'
  plot_summary(table_rows, os.path.join(out_dir, 'summary.png'))
  plot_matrices(table_rows, os.path.join(out_dir, 'matrices.png'))
  return (
    "Percentage points, mean ± sample std (ddof=1) over each row's runs. ACC: mean final accuracy over all tasks; "
    'BWT: mean over tasks 0..T-2 of (final - just learned); forgetting: mean drop from the best earlier accuracy; '
    "FWT: accuracy on a task before training it minus the untrained model's; learning acc: mean accuracy on each "
    'task just after training it. Plots: summary.png, matrices.png.\n\n' + table(table_rows)
  )
