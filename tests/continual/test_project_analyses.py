"""The FSCL and NHL report analyses on hand-made runs: learners/methods read from the config, paired gaps, verdicts."""

import json

import pytest

from launch import claims, report
from projects.fscl import analysis as fscl_analysis
from projects.nhl_tta import analysis as nhl_analysis


def _run(path, values, final, workdir='/nowhere'):
  return report.Run(path, workdir, {k: repr(v) for k, v in values.items()}, values, final, 'done')


def test_fscl_claims_are_paired_by_seed(tmp_path):
  runs = []
  accs = {'Learner': [0.90, 0.92, 0.94], 'Joint': [0.99, 0.98, 1.0], 'FastSlow': [0.99, 1.0, 0.98]}
  few = {'Learner': [0.60, 0.62, 0.64], 'Joint': [0.61, 0.60, 0.66], 'FastSlow': [0.80, 0.85, 0.86]}
  for name in accs:
    for seed in range(3):
      values = {
        'common.continual.few_shot.FewShotProbe.learner': {'@': f'common.continual.x.{name}', 'call': True},
        'SHOTS': 10, 'SEED': seed,
      }  # fmt: skip
      final = {'acc': accs[name][seed], 'few_shot_accuracy': few[name][seed], 'bwt': 0.0, 'learning_acc': 1.0}
      runs.append(_run(f'{name}{seed}', values, final))
  data = fscl_analysis.table_data(report.build(runs))
  assert data['learners'] == ['finetune', 'joint', 'fast_slow'] and data['shots'] == [10]
  values = data['values']
  gap = claims.paired_gap(values[(10, 'fast_slow', 'acc')], values[(10, 'joint', 'acc')])
  assert gap[0] == pytest.approx(0.0) and gap[2] == 3
  assert claims.at_least((-0.01, 0.006, 5)) == 'below, within noise (< 2 SE)'
  assert claims.above((0.01, 0.006, 5)).startswith('not distinguishable')
  text = fscl_analysis.fscl(report.build(runs), str(tmp_path))
  assert '| 10 | (2) better few-shot | fast_slow - finetune | +0.2167 ± 0.0088 (n=3) | above: holds |' in text
  assert '| 10 | fast_slow | 0.990 ± 0.010 | 0.837 ± 0.032 |' in text
  assert (tmp_path / 'fscl.png').stat().st_size > 2000


def test_nhl_table_gaps_and_domain_plot(tmp_path):
  runs = []
  online = {'source': [0.50, 0.52, 0.54], 'tent': [0.70, 0.71, 0.72], 'nhl': [0.72, 0.72, 0.75]}
  for method, accs in online.items():
    for seed, acc in enumerate(accs):
      workdir = tmp_path / f'{method}{seed}'
      workdir.mkdir()
      domains = [{'domain': f'noise@{s}', 'online_accuracy': acc + 0.01 * s, 'entropy': 0.1} for s in (1, 3)]
      (workdir / 'domains.json').write_text(json.dumps(domains))
      values = {'METHOD': method, 'SEED': seed, 'ADAPT_LR': 1e-3, 'HEBBIAN_LR': 1e-2}
      final = {'online_accuracy': acc, 'online_accuracy_sev1': acc, 'online_accuracy_sev3': acc,
               'online_accuracy_noise': acc, 'source_accuracy': 0.98}  # fmt: skip
      runs.append(_run(workdir.name, values, final, str(workdir)))
  data = nhl_analysis.table_data(report.build(runs))
  assert data['labels'] == ['source', 'tent', 'nhl'] and data['severities'] == [1, 3]
  assert data['corruptions'] == ['noise']
  names, accs = nhl_analysis.per_domain(data['runs_of']['tent'])
  assert names == ['noise@1', 'noise@3'] and accs == pytest.approx([0.72, 0.74])
  text = nhl_analysis.online(report.build(runs), str(tmp_path))
  # nhl - tent: +0.02, +0.01, +0.03 -> mean 0.02, SE 0.00577: above by more than 2 SE
  assert '| nhl - tent | +0.0200 ± 0.0058 (n=3) |' in text and '| above: holds |' in text
  assert claims.above((0.01, 0.006, 5)).startswith('not distinguishable')
  assert (tmp_path / 'nhl_tta.png').stat().st_size > 2000


def test_nhl_search_rows_are_labelled_by_step_size():
  runs = []
  for lr in (1e-4, 1e-3):
    for seed in range(2):
      values = {'METHOD': 'tent', 'SEED': seed, 'ADAPT_LR': lr, 'HEBBIAN_LR': 1e-2}
      runs.append(_run(f'tent{lr}{seed}', values, {'online_accuracy': 0.7}))
  data = nhl_analysis.table_data(report.build(runs))
  assert data['labels'] == ['tent (ADAPT_LR=0.0001)', 'tent (ADAPT_LR=0.001)']
