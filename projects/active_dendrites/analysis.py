"""The active-dendrites table as a `launch report` analysis:

  launch report ROOT --analysis=projects.active_dendrites.analysis:models

Every finished run under ROOT is one (config, seed) of configs/active_dendrites/ (run with
configs/active_dendrites/sweeps/seeds.py). Each report group becomes one row named after its model (dendrites on or
off, k-winners on or off, the hidden widths when they differ from the configs' (256, 256), raw prototypes when
context centering is off) with the accuracy after all tasks (inferred and oracle context), the task-inference
accuracy and the first task's accuracy, in %, as mean ± sample std (ddof=1) over the group's seeds. Then the
paper's claims per (tasks, steps per task), judged on seed-paired gaps of the accuracy after all tasks
(launch/claims.py; a seed fixes the task permutations and prototypes, so equal seeds mean equal task streams).
Writes per_task_accuracy.png: the final accuracy on every task (mean over seeds), one panel per task count.
"""

import os

import numpy as np

from launch import claims
from launch import report as report_lib

DEFAULT_HIDDEN = (256, 256)
COLUMNS = (
  ('accuracy', 'accuracy after all tasks (inferred context)'),
  ('accuracy_oracle_context', 'oracle context'),
  ('task_inference_accuracy', 'task inference'),
  ('accuracy_first_task', 'first task'),
)
ORDER = ('active dendrites + k-winners', 'k-winners only', 'active dendrites only', 'MLP')


def model_name(run) -> str:
  """'active dendrites + k-winners', 'k-winners only', 'active dendrites only' or 'MLP', plus what differs."""
  dendrites = bool(report_lib.config_value(run, 'DendriticMLP.use_dendrites'))
  kwinners = report_lib.config_value(run, 'DendriticMLP.percent_on') is not None
  name = {
    (True, True): ORDER[0],
    (False, True): ORDER[1],
    (True, False): ORDER[2],
    (False, False): ORDER[3],
  }[dendrites, kwinners]
  hidden = tuple(report_lib.config_value(run, 'DendriticMLP.hidden', DEFAULT_HIDDEN))
  if hidden != DEFAULT_HIDDEN:
    name += f', hidden {hidden}'
  if report_lib.config_value(run, 'experiment.run.center_context', True) is False:
    name += ', raw (uncentered) prototypes'
  return name


def _percent(stat) -> str:
  if stat is None:
    return '-'
  return f'{100 * stat.mean:.1f}' + (f' ± {100 * stat.std:.1f}' if stat.std is not None else '')


def rows(report) -> list[tuple[int, int | None, str, object]]:
  """(number of tasks, steps per task, model name, group) for every group, in table order."""
  out = []
  for g in report.groups:
    run = g.runs[0]
    tasks = int(report_lib.config_value(run, 'NUM_TASKS', run.final.get('num_tasks', 0)))
    steps = report_lib.config_value(run, 'NUM_STEPS')
    out.append((tasks, None if steps is None else int(steps), model_name(run), g))
  rank = lambda name: next((i for i, o in enumerate(ORDER) if name.startswith(o)), len(ORDER))  # noqa: E731
  return sorted(out, key=lambda r: (r[0], r[1] or 0, rank(r[2]), r[2]))


def models(report, out: str) -> str:
  table = rows(report)
  lines = [
    'Accuracy in %, mean ± sample std (ddof=1) over the seeds (n).',
    '',
    '| model | tasks | steps per task | ' + ' | '.join(label for _, label in COLUMNS) + ' | params | n |',
    '|---' * (5 + len(COLUMNS)) + '|',
  ]
  for tasks, steps, name, g in table:
    params = g.stats.get('num_params')
    cells = [_percent(g.stats.get(m)) for m, _ in COLUMNS]
    n = max((s.n for s in g.stats.values()), default=0)
    lines.append(
      f'| {name} | {tasks} | {steps or "-"} | '
      + ' | '.join(cells)
      + (f' | {int(params.mean):,} | {n} |' if params else f' | - | {n} |')
    )
  lines += claim_lines(table)
  path = _plot(table, os.path.join(out, 'per_task_accuracy.png'))
  if path:
    lines += ['', f'Plot: {os.path.basename(path)} (final accuracy on every task, mean over seeds).']
  return '\n'.join(lines) + '\n'


# (claim, condition A, condition B): "A above B" on the accuracy after all tasks. The widened MLP is the
# parameter-matched control (any hidden widths other than the configs'); raw prototypes the centering ablation.
CLAIMS = (
  ('dendrites and k-winners together beat the MLP', ORDER[0], ORDER[3]),
  ('k-winners add to the dendrites ("both ingredients matter")', ORDER[0], ORDER[2]),
  ('dendrites add to k-winners ("both ingredients matter")', ORDER[0], ORDER[1]),
  ('dendritic gating alone beats the MLP', ORDER[2], ORDER[3]),
  ('parameters do not explain it: dendrites + k-winners beat the parameter-matched MLP', ORDER[0], 'MLP, hidden'),
  ('parameters do not explain it: dendrites alone beat the parameter-matched MLP', ORDER[2], 'MLP, hidden'),
  ('context centering helps (deviation, see README)', ORDER[0], ORDER[0] + ', raw (uncentered) prototypes'),
)


def claim_lines(table) -> list[str]:
  """The CLAIMS per (tasks, steps per task) as a table of seed-paired gaps (percentage points) and verdicts; a claim
  whose conditions were not both run in a block is left out."""
  out = [
    '',
    '| tasks | steps per task | claim (A above B) | A - B (points, seed-paired) | verdict |',
    '|---|---|---|---|---|',
  ]
  for tasks, steps in sorted({(t, s or 0) for t, s, _, _ in table}):
    block = {name: g for t, s, name, g in table if (t, s or 0) == (tasks, steps)}
    for text, a, b in CLAIMS:
      b_name = next((n for n in block if n == b or (b == 'MLP, hidden' and n.startswith(b))), None)
      if a not in block or b_name is None:
        continue
      gap = claims.paired_gap(
        *(claims.by_seed(block[n].runs, lambda r: 100 * r.final['accuracy']) for n in (a, b_name))
      )
      out.append(f'| {tasks} | {steps or "-"} | {text} | {claims.gap_text(gap, 1)} | {claims.above(gap)} |')
  return out if len(out) > 3 else []


def _per_task(run) -> list[float] | None:
  final = report_lib.run_json(run, 'final_metrics.json')
  return None if final is None else final.get('per_task_accuracy')


def _plot(table, path: str) -> str | None:
  curves = {}
  for tasks, _, name, g in table:
    per_run = [c for c in (_per_task(r) for r in g.runs) if c]
    if per_run and len({len(c) for c in per_run}) == 1:
      curves.setdefault(tasks, []).append((name, 100 * np.mean(per_run, axis=0)))
  if not curves:
    return None
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  fig, axes = plt.subplots(1, len(curves), figsize=(5 * len(curves), 3.6), squeeze=False)
  for ax, tasks in zip(axes[0], sorted(curves)):
    for name, acc in curves[tasks]:
      ax.plot(np.arange(1, len(acc) + 1), acc, marker='.', label=name)
    ax.set(xlabel='task', ylabel='final test accuracy (%)', title=f'{tasks} tasks')
    ax.legend(fontsize=6)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
  return path
