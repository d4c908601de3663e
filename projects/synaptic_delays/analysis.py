"""The synaptic-delay table and pruning curves as a `launch report` analysis:

  launch report ROOT --analysis=projects.synaptic_delays.analysis:pruning

Every finished run under ROOT is one (config, seed) of configs/synaptic_delays/ (sweep: sweeps/seeds.py). A run's
row is named by its task (DriftingTextureTask: texture, DelayMotifTask: motif) and its synapses (FixedDelayDense with
max_delay 1: no delays, with larger max_delay: random fixed delays; DCLSDelayDense: learned delays; DelayKernelDense:
learned delay kernel). Columns: the number of parameters, then the test accuracy (%) with every fraction of the
input synapses kept (the runs' accuracy_keep_<f> final metrics, also in their pruning.json; keep 1 is the unpruned
accuracy), mean ± sample std (ddof=1) over seeds. Writes pruning.png: accuracy against the fraction kept, one panel
per task.
"""

import os

import numpy as np

from launch import report as report_lib

TASKS = {'DriftingTextureTask': 'texture', 'DelayMotifTask': 'motif'}
SYNAPSES = ('no delays', 'random fixed delays', 'learned delays (DCLS)', 'learned delay kernel (HD-SNN)')
PREFIX = 'accuracy_keep_'


def _target(run, name: str) -> str:
  value = report_lib.config_value(run, name)
  text = value.get('@', '') if isinstance(value, dict) else str(value)
  return text.rpartition('.')[2].rstrip('()')


def labels(run) -> tuple[str, str]:
  """(task, synapse kind) of a run, from its config."""
  task = _target(run, 'experiment.run.task')
  kind = _target(run, 'DelaySNN.synapses')
  if kind == 'FixedDelayDense':
    synapses = SYNAPSES[0] if int(report_lib.config_value(run, 'FixedDelayDense.max_delay', 1)) <= 1 else SYNAPSES[1]
  else:
    synapses = {'DCLSDelayDense': SYNAPSES[2], 'DelayKernelDense': SYNAPSES[3]}.get(kind, kind)
  return TASKS.get(task, task), synapses


def _keeps(report) -> list[str]:
  found = {m[len(PREFIX) :] for g in report.groups for m in g.stats if m.startswith(PREFIX)}
  return sorted(found, key=float, reverse=True)


def _cell(stat) -> str:
  if stat is None:
    return '-'
  return f'{100 * stat.mean:.1f}' + (f' ± {100 * stat.std:.1f}' if stat.std is not None else '')


def rows(report) -> list[tuple[str, str, object]]:
  out = [(*labels(g.runs[0]), g) for g in report.groups]
  task_rank = list(TASKS.values())
  rank = lambda r: (task_rank.index(r[0]) if r[0] in task_rank else 9, SYNAPSES.index(r[1]) if r[1] in SYNAPSES else 9)  # noqa: E731
  return sorted(out, key=lambda r: (*rank(r), r[0], r[1]))


def pruning(report, out: str) -> str:
  keeps, table = _keeps(report), rows(report)
  head = ['accuracy' if float(k) == 1.0 else f'keep {k}' for k in keeps]
  lines = [
    'Test accuracy in %, mean ± sample std (ddof=1) over seeds (n); "keep f": only the fraction f of the input '
    'synapses with the largest weight magnitude kept.',
    '',
    '| task | synapses | params | ' + ' | '.join(head) + ' | n |',
    '|---' * (4 + len(keeps)) + '|',
  ]
  for task, synapses, g in table:
    params = g.stats.get('num_params')
    n = max((s.n for s in g.stats.values()), default=0)
    cells = [_cell(g.stats.get(PREFIX + k)) for k in keeps]
    lines.append(
      f'| {task} | {synapses} | {f"{int(params.mean):,}" if params else "-"} | ' + ' | '.join(cells) + f' | {n} |'
    )
  if keeps and table:
    path = _plot(table, keeps, os.path.join(out, 'pruning.png'))
    lines += ['', f'Plot: {os.path.basename(path)}.']
  return '\n'.join(lines) + '\n'


def _plot(table, keeps: list[str], path: str) -> str:
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  tasks = list(dict.fromkeys(t for t, _, _ in table))
  fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 3.6), squeeze=False)
  x = [float(k) for k in keeps]
  for ax, task in zip(axes[0], tasks):
    for t, synapses, g in table:
      if t != task:
        continue
      stats = [g.stats.get(PREFIX + k) for k in keeps]
      mean = [100 * s.mean if s else np.nan for s in stats]
      err = [100 * (s.std or 0.0) if s else 0.0 for s in stats]
      ax.errorbar(x, mean, yerr=err, marker='o', capsize=3, label=synapses)
    ax.set(xscale='log', xlabel='fraction of synapses kept', ylabel='test accuracy (%)', title=task)
    ax.legend(fontsize=6)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
  return path
