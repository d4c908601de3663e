"""The FSCL results table, claim checks and plot, as an analysis that `launch report` calls on the sweep root:

  launch report /tmp/fscl --group_by=FewShotProbe.learner,SHOTS --metrics=acc,few_shot_accuracy,bwt,learning_acc \
    --analysis=projects.fscl.analysis:fscl --out=projects/fscl/results

Every run is one (learner, SHOTS, seed) of configs/fscl/sweeps/shots_seeds.py: a seed fixes the class order (which
classes form the 3 tasks and which 4 are held out), every draw of examples, the probe episodes and the initial
weights, so runs with the same seed and SHOTS see the same tasks and are compared pairwise. The learner is the
class wrapped by few_shot.FewShotProbe (Learner = fine-tuning, EWC, Joint, FastSlow).
Claims: (1) FastSlow's ACC (mean final accuracy over the seen tasks) at least joint training's: holds when the
paired gap is >= 0, "below, within noise" when it is negative by less than 2 standard errors; (2) FastSlow's
held-out few-shot accuracy above every baseline's: holds when the paired gap is positive by more than 2 standard
errors. Writes fscl.png: ACC and few-shot accuracy against SHOTS per learner.
"""

import os

from launch import claims
from launch import report as report_lib
from launch.report import config_value

NAMES = {'Learner': 'finetune', 'EWC': 'ewc', 'Joint': 'joint', 'FastSlow': 'fast_slow'}
ORDER = ('finetune', 'ewc', 'joint', 'fast_slow')
METRICS = ('acc', 'few_shot_accuracy', 'bwt', 'learning_acc')


def learner_of(run) -> str:
  ref = config_value(run, 'common.continual.few_shot.FewShotProbe.learner') or {}
  name = str(ref.get('@', '?')).rpartition('.')[2] if isinstance(ref, dict) else str(ref)
  return NAMES.get(name, name)


def table_data(report) -> dict:
  """{'learners', 'shots', 'values': {(shots, learner, metric): {seed: v}}, 'not_done'}."""
  values: dict[tuple, dict] = {}
  done = 0
  for r in report.runs:
    if r.status != 'done' or not r.final:
      continue
    done += 1
    key = (int(config_value(r, 'SHOTS')), learner_of(r))
    for m in METRICS:
      if m in r.final:
        values.setdefault(key + (m,), {})[config_value(r, 'SEED')] = float(r.final[m])
  names = {k[1] for k in values}
  learners = [n for n in ORDER if n in names] + sorted(names - set(ORDER))
  return {
    'learners': learners,
    'shots': sorted({k[0] for k in values}),
    'values': values,
    'not_done': len(report.runs) - done,
  }


def fscl(report, out: str) -> str:
  data = table_data(report)
  values, learners = data['values'], data['learners']
  lines = [
    'ACC = mean final test accuracy over the 3 tasks; few-shot = mean query accuracy of 10 held-out 4-way '
    'episodes learned from the generalisation weights after the last task; BWT = backward transfer. Mean ± sample '
    'std over seeds.',
    '',
    '| shots | learner | ACC | few-shot (held-out) | BWT | learning accuracy |',
    '|---|---|---|---|---|---|',
  ]
  for s in data['shots']:
    for n in learners:
      if (s, n, 'acc') in values:
        lines.append(f'| {s} | {n} | ' + ' | '.join(claims.seeds_cell(values.get((s, n, m))) for m in METRICS) + ' |')
  if 'fast_slow' in learners:
    lines += [
      '',
      'Claims, fast_slow minus each baseline, paired by seed (± standard error of the paired differences):',
      '',
      '| shots | claim | comparison | gap | verdict |',
      '|---|---|---|---|---|',
    ]
    for s in data['shots']:
      if 'joint' in learners:
        gap = claims.paired_gap(values.get((s, 'fast_slow', 'acc'), {}), values.get((s, 'joint', 'acc'), {}))
        lines.append(
          f'| {s} | (1) ACC at least joint | fast_slow - joint | {claims.gap_text(gap)} | {claims.at_least(gap)} |'
        )
      for b in [n for n in learners if n != 'fast_slow']:
        few = [values.get((s, n, 'few_shot_accuracy'), {}) for n in ('fast_slow', b)]
        gap = claims.paired_gap(*few)
        lines.append(f'| {s} | (2) better few-shot | fast_slow - {b} | {claims.gap_text(gap)} | {claims.above(gap)} |')
  if data['not_done']:
    lines += ['', f'{data["not_done"]} run(s) did not finish and are not counted (see "Not averaged").']
  if values:
    path = _plot(data, os.path.join(out, 'fscl.png'))
    lines += ['', f'Plot: {os.path.basename(path)}.']
  return '\n'.join(lines) + '\n'


def _plot(data: dict, path: str) -> str:
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  values, shots = data['values'], data['shots']
  fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
  panels = (('acc', 'ACC over the seen tasks'), ('few_shot_accuracy', 'held-out few-shot'))
  for ax, (metric, title) in zip(axes, panels):
    for i, n in enumerate(data['learners']):
      pts = [(s, report_lib.stat(list(values[(s, n, metric)].values()))) for s in shots if (s, n, metric) in values]
      if pts:
        xs = [s * (1 + 0.03 * (i - 1.5)) for s, _ in pts]  # offsets so the error bars do not overlap
        ax.errorbar(xs, [p.mean for _, p in pts], yerr=[p.std or 0.0 for _, p in pts], marker='o', capsize=3, label=n)
    ax.set_xscale('log')
    ax.set_xticks(shots, [str(s) for s in shots])
    ax.minorticks_off()
    ax.set_xlabel('shots per class')
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
  axes[0].set_ylabel('accuracy')
  axes[0].legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=110, metadata={'Software': None})
  plt.close(fig)
  return path
