"""The G2GNet report analysis on hand-made runs: variants read from the config, gaps paired by seed, verdicts."""

import pytest

from launch import claims, report
from projects.g2gnet import analysis

MLP = {'@': 'common.sparsity.models.SparseMLP', 'call': True}
DST = {'@': 'common.sparsity.dst.DynamicSparsity', 'call': True}


def _run(values, accuracy):
  path = '_'.join(f'{v}' for v in values.values() if not isinstance(v, dict))
  return report.Run(path, '/nowhere', {k: repr(v) for k, v in values.items()}, values, {'accuracy': accuracy}, 'done')


def _runs():
  runs = []
  table = {
    ('dense', None, 0.0): [0.95, 0.96, 0.97],
    ('g2g', None, 0.75): [0.96, 0.95, 0.99],  # gaps +0.01, -0.01, +0.02
    ('g2g', 'random', 0.75): [0.90, 0.91, 0.92],
    ('g2g', 'hebbian', 0.75): [0.89, 0.90, 0.91],  # 0.01 below random at every seed: far outside 2 SE
  }
  for (topology, regrow, sparsity), accs in table.items():
    for seed, acc in enumerate(accs):
      values = {'common.train.loop.train.model': MLP, 'TOPOLOGY': topology, 'SPARSITY': sparsity, 'SEED': seed}
      if regrow:
        values |= {'common.train.loop.train.after_step': DST, 'REGROW': regrow}
        values['common.sparsity.dst.DynamicSparsity.regrow'] = {'%': 'REGROW'}
      runs.append(_run(values, acc))
  return runs


def test_variants_and_paired_gaps():
  data = analysis.table_data(report.build(_runs()))
  assert data['models'] == ['MLP 64-256-256-10']
  values = data['values']
  assert set(k[1] for k in values) == {'dense', 'G2G', 'G2G+DST (random)', 'G2G+DST (Hebbian)'}
  gap = claims.paired_gap(values[('MLP 64-256-256-10', 'G2G', 0.75)], values[('MLP 64-256-256-10', 'dense', 0.0)])
  assert gap[0] == pytest.approx(0.02 / 3) and gap[2] == 3
  assert gap[1] == pytest.approx(report.stat([0.01, -0.01, 0.02]).std / 3**0.5)
  assert claims.at_least(gap) == 'at least: holds'
  assert claims.at_least((-0.01, 0.006, 3)) == 'below, within noise (< 2 SE)'
  assert claims.at_least((-0.01, 0.004, 3)) == 'below: does not hold'


def test_table_and_plot(tmp_path):
  text = analysis.g2g(report.build(_runs()), str(tmp_path))
  assert '| MLP 64-256-256-10 | dense | 0.960 ± 0.010 | - |' in text
  row = '| MLP 64-256-256-10 | Hebbian - random regrowth | 75% | -0.0100 ± 0.0000 (n=3) | below: does not hold |'
  assert row in text
  assert (tmp_path / 'g2gnet.png').stat().st_size > 2000
