"""The teacher-student table and plot, as a `launch report` analysis.

  launch report /tmp/vbcl/teacher_student --group_by=trainer.train.learner,OVERLAP \
    --analysis=projects.variational_binary_cl.analysis:teacher_student \
    --out=projects/variational_binary_cl/results/teacher_student

ROOT holds the runs of configs/variational_binary_cl/teacher_student_{naive,variational}.gin swept over OVERLAP and
SEED (configs/variational_binary_cl/sweeps/overlaps.py). From each run's 2 x 2 accuracy matrix (acc[i, j]: teacher
j's task after training task i): task 1 after task 1 (acc[0, 0]), task 1 after task 2 (acc[1, 0]), the forgetting
acc[0, 0] - acc[1, 0] and task 2 (acc[1, 1]), in % as mean ± sample std over the group's runs. Writes
teacher_student.png: forgetting against the teachers' overlap, one line per learner. The permuted-digits table
uses common.continual.report:continual.
"""

import os

import numpy as np

from common.continual import report as cl_report

COLUMNS = ('task 1 after task 1', 'task 1 after task 2', 'forgetting', 'task 2')


def cells(matrices: np.ndarray) -> dict[str, np.ndarray]:
  """(n, 2, 2) accuracy matrices -> {column: (n,) values in %}."""
  a = 100 * matrices
  return dict(zip(COLUMNS, (a[:, 0, 0], a[:, 1, 0], a[:, 0, 0] - a[:, 1, 0], a[:, 1, 1])))


def overlap_of(row) -> float | None:
  text = next((v for k, v in row.columns.items() if k.rpartition('.')[2] == 'OVERLAP' and v), None)
  return float(text) if text is not None else None


def plot_forgetting(table_rows, png_path: str) -> str | None:
  lines: dict[str, list] = {}
  for r in table_rows:
    rho = overlap_of(r)
    if r.matrices is not None and rho is not None:
      f = cells(r.matrices)['forgetting']
      lines.setdefault(r.learner, []).append((rho, f.mean(), f.std(ddof=1) if f.size > 1 else 0.0))
  if not lines:
    return None
  plt = cl_report._pyplot()
  fig, ax = plt.subplots(figsize=(5, 3.5))
  for learner, pts in lines.items():
    xs, ys, errs = zip(*sorted(pts))
    ax.errorbar(xs, ys, yerr=errs, marker='o', capsize=3, label=learner)
  ax.set_xlabel('teacher overlap ρ')
  ax.set_ylabel('forgetting of task 1 (points)')
  ax.legend()
  fig.tight_layout()
  fig.savefig(png_path, dpi=90, metadata={'Software': None})
  plt.close(fig)
  return png_path


def teacher_student(report, out_dir: str) -> str:
  """The `launch report --analysis` entry: the teacher-student table; teacher_student.png in out_dir."""
  table_rows = [r for r in cl_report.rows(report) if r.matrices is not None and r.matrices.shape[1:] == (2, 2)]
  if not table_rows:
    return 'No finished two-task runs.'
  plot_forgetting(table_rows, os.path.join(out_dir, 'teacher_student.png'))
  columns = list(table_rows[0].columns)
  header = ['learner', *columns, *COLUMNS, 'n']
  body = []
  for r in table_rows:
    values = cells(r.matrices)
    body.append([r.learner, *(r.columns[c] for c in columns), *(cl_report.mean_std(values[c]) for c in COLUMNS)])
    body[-1].append(str(r.n))
  return (
    'Accuracy on 2000 fresh examples per teacher in %, mean ± sample std (ddof=1) over seeds; forgetting = task 1 '
    'after task 1 minus after task 2. Plot: teacher_student.png.\n\n' + cl_report.md_table(header, body)
  )
