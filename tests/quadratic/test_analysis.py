"""The quadratic-networks report analyses on hand-made runs: collapse counting and the budget table."""

import pytest

from launch import report
from projects.quadratic_networks import analysis

QUAD = {'@': 'common.quadratic.models.QuadraticMLP', 'call': True}
MLP = {'@': 'common.models.mlp.MLP', 'call': True}


def _run(i, values, status='done', final=None, detail=''):
  values = {'OPTIMIZER': 'sgd', 'LEARNING_RATE': 0.1, 'SEED': i, **values}
  config = {k: repr(v) for k, v in values.items()}
  return report.Run(f'r{i}', f'/nowhere/r{i}', config, values, final, status, detail)


def test_collapse_counts_diverged_and_chance_runs_and_skips_unfinished(tmp_path):
  relinear = {
    'common.train.loop.train.model': {'%': 'MODEL'},  # followed through the macro
    'MODEL': QUAD,
    'common.quadratic.models.QuadraticMLP.init_scheme': 'relinear',
    'QUAD_LR_MULTIPLIER': 0.1,
  }
  runs = [
    _run(0, relinear, final={'accuracy': 0.97}),
    _run(1, relinear, final={'accuracy': 0.95}),
    _run(2, relinear, final={'accuracy': 0.12}),  # finished at chance: collapsed
    _run(3, relinear, status='failed', detail='TrainingDiverged: non-finite values at step 100'),
    _run(4, relinear, status='unfinished', detail='last logged step 300'),  # not counted either way
    _run(5, {'common.train.loop.train.model': MLP}, final={'accuracy': 0.96}),
  ]
  rows = analysis.trainability_rows(report.build(runs))
  assert [(r['optimizer'], r['variant']) for r in rows] == [('sgd_0.1', 'conventional'), ('sgd_0.1', 'ReLinear x0.1')]
  rel = rows[1]
  assert (rel['n'], rel['non_finite'], rel['at_chance'], rel['unfinished']) == (4, 1, 1, 1)
  assert rel['accuracy'].mean == pytest.approx(0.96) and rel['accuracy'].n == 2
  text = analysis.trainability(report.build(runs), str(tmp_path))
  assert '| sgd_0.1 | ReLinear x0.1 | 4 (1 unfinished, not counted) | 2 (1 + 1) | 0.5 | 0.960 ± 0.014 (n=2) |' in text
  assert (tmp_path / 'trainability.png').stat().st_size > 2000


def test_expressivity_marks_the_best_model_per_budget():
  def run(i, model, width, acc, act='relu'):
    values = {
      'MODEL': model, 'WIDTH': width, 'ACT': act, 'common.models.mlp.MLP.act': {'%': 'ACT'},
      'common.train.loop.train.model': {'%': 'MODEL'}, 'common.data.synthetic.shapes2d.load.name': 'rings',
    }  # fmt: skip
    return _run(i, values, final={'accuracy': acc, 'num_params': 100.0 + width})

  runs = [run(0, QUAD, 4, 0.99), run(1, MLP, 8, 0.7), run(2, MLP, 8, 0.8, 'square'), run(3, QUAD, 8, 0.9)]
  runs += [run(4, MLP, 15, 0.95)]
  built = report.build(runs, group_by=['MODEL', 'ACT', 'WIDTH'], metrics=['accuracy', 'num_params'])
  text = analysis.expressivity(built, '')
  assert '| rings | accuracy | small | **0.99** [104] | 0.7 [108] | 0.8 [108] |' in text
  assert '| rings | accuracy | large | 0.9 [108] | **0.95** [115] | - |' in text
