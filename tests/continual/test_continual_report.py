"""The continual-learning `launch report` analyses on hand-made run directories (no training)."""

import json

import numpy as np
import pytest

from common.continual import report as cl_report
from launch import report
from projects.power_law_rehearsal import analysis as plr_analysis
from projects.variational_binary_cl import analysis as vbcl_analysis

LEARNER = 'common.continual.trainer.train.learner'
SCHEDULE = 'common.continual.rehearsal.Rehearsal.schedule'


def _gin(value) -> str:
  if isinstance(value, dict) and '@' in value:
    return f'@{value["@"]}()'
  return repr(value)


def _run(tmp_path, name, values, matrix, baseline=None, train_losses=None, status='done'):
  """A run directory with accuracy_matrix.json (and metrics.jsonl train rows), as launch report reads it."""
  workdir = tmp_path / name
  workdir.mkdir()
  acc = np.asarray(matrix, np.float64)
  baseline = np.zeros(len(acc)) if baseline is None else np.asarray(baseline)
  (workdir / 'accuracy_matrix.json').write_text(json.dumps({'acc': acc.tolist(), 'baseline': baseline.tolist()}))
  if train_losses is not None:
    rows = [{'step': s, 'split': 'train', 'loss': loss} for s, loss in train_losses]
    (workdir / 'metrics.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in rows))
  from common.continual import metrics

  final = metrics.continual_metrics(acc, baseline) if status == 'done' else None
  config = {k: _gin(v) for k, v in values.items()}
  return report.Run(name, str(workdir), config, values, final, status)


def _learner(cls: str) -> dict:
  return {'@': f'common.continual.{cls}', 'call': True}


def test_continual_table_and_plots(tmp_path):
  runs = []
  ft = [[[0.9, 0.1], [0.2, 0.95]], [[0.8, 0.1], [0.4, 0.9]]]
  hl = [[[0.9, 0.1], [0.85, 0.9]], [[0.9, 0.1], [0.8, 0.8]]]
  for seed in range(2):
    runs.append(_run(tmp_path, f'ft{seed}', {LEARNER: _learner('learners.Learner'), 'SEED': seed}, ft[seed]))
    values = {LEARNER: _learner('projection.HLOP'), 'common.continual.projection.HLOP.projector': 'raw', 'SEED': seed}
    runs.append(_run(tmp_path, f'hl{seed}', values, hl[seed]))
  runs.append(_run(tmp_path, 'diverged', {LEARNER: _learner('learners.Learner'), 'SEED': 2}, ft[0], status='failed'))
  built = report.build(runs, group_by=['trainer.train.learner', 'HLOP.projector'])
  rows = cl_report.rows(built)
  assert [r.learner for r in rows] == ['finetune', 'hlop']  # the classes' own `name`, not the class names
  assert rows[0].n == 2 and rows[0].matrices.shape == (2, 2, 2)  # the failed run is not averaged
  assert rows[1].label == "hlop (projector='raw')" and rows[0].label == 'finetune'
  # finetune ACC: 57.5, 65 -> 61.2 ± 5.3; BWT: seed 0: 0.2 - 0.9 = -70; seed 1: 0.4 - 0.8 = -40 -> -55 ± 21.2 (ddof=1)
  assert rows[0].metrics['bwt'] == pytest.approx([-70.0, -40.0])
  text = cl_report.continual(built, str(tmp_path))
  assert '| learner | HLOP.projector | n | ACC | BWT | forgetting | FWT | learning acc |' in text
  assert '| finetune |  | 2 | 61.2 ± 5.3 | -55.0 ± 21.2 | 55.0 ± 21.2 | 10.0 ± 0.0 | 88.8 ± 5.3 |' in text
  assert "| hlop | 'raw' | 2 | 83.8 ± 5.3 | -7.5 ± 3.5 |" in text
  assert (tmp_path / 'summary.png').stat().st_size > 5000 and (tmp_path / 'matrices.png').stat().st_size > 3000


def test_continual_with_nothing_finished(tmp_path):
  runs = [_run(tmp_path, 'x', {LEARNER: _learner('learners.Learner'), 'SEED': 0}, [[1.0]], status='failed')]
  assert cl_report.continual(report.build(runs), str(tmp_path)) == 'No finished continual runs.'
  assert not (tmp_path / 'summary.png').exists()


def test_learner_name_falls_back_to_the_class_name():
  assert cl_report.learner_name({'@': 'common.continual.regularizers.EWC'}) == 'ewc'
  assert cl_report.learner_name({'@': 'nowhere.Thing'}) == 'Thing'
  assert cl_report.learner_name({'%': 'LEARNER'}, '%LEARNER') == '%LEARNER'


def test_rehearsal_facilitation_reads_the_first_chunk_of_each_task(tmp_path):
  runs = []
  steps = 'common.continual.trainer.train.steps_per_task'
  for seed, (a, b) in enumerate([(2.0, 1.0), (2.2, 0.6)]):
    values = {LEARNER: _learner('rehearsal.Rehearsal'), SCHEDULE: 'uniform', steps: {'%': 'NUM_STEPS'}}
    values.update(NUM_STEPS=4, SEED=seed)
    # log_every 2, 4 steps per task: rows at 2, 4 (task 0), 6, 8 (task 1); the first chunk is steps 2 and 6.
    losses = [(2, a), (4, 0.5), (6, b), (8, 0.1)]
    runs.append(_run(tmp_path, f'u{seed}', values, [[0.9, 0.1], [0.8, 0.9]], train_losses=losses))
  built = report.build(runs, group_by=['trainer.train.learner', 'Rehearsal.schedule'])
  text = plr_analysis.rehearsal(built, str(tmp_path))
  assert "| rehearsal (schedule='uniform') | 2.100 ± 0.141 | 0.800 ± 0.283 |" in text
  assert (tmp_path / 'facilitation.png').stat().st_size > 3000


def test_teacher_student_columns(tmp_path):
  runs = []
  matrices = {'learners.Learner': [[0.8, 0.5], [0.6, 0.9]], 'binary.VariationalBinary': [[0.8, 0.5], [0.78, 0.7]]}
  for learner, mats in matrices.items():
    for seed in range(2):
      jitter = np.array([[0.0, 0.0], [0.02 * seed, 0.0]])
      values = {LEARNER: _learner(learner), 'OVERLAP': 0.5, 'SEED': seed}
      runs.append(_run(tmp_path, f'{learner}{seed}', values, np.asarray(mats) + jitter))
  built = report.build(runs, group_by=['trainer.train.learner', 'OVERLAP'])
  text = vbcl_analysis.teacher_student(built, str(tmp_path))
  # finetune: task 1 after task 2 = 60, 62 -> forgetting 20, 18
  assert '| finetune | 0.5 | 80.0 ± 0.0 | 61.0 ± 1.4 | 19.0 ± 1.4 | 90.0 ± 0.0 | 2 |' in text
  assert '| variational | 0.5 | 80.0 ± 0.0 | 79.0 ± 1.4 | 1.0 ± 1.4 | 70.0 ± 0.0 | 2 |' in text
  assert (tmp_path / 'teacher_student.png').stat().st_size > 3000
