"""The need_is_all_you_need and adaptive_reservoir report analyses on hand-made runs."""

import json

import pytest

from launch import report
from projects.adaptive_reservoir import analysis as reservoir_analysis
from projects.need_is_all_you_need import analysis as need_analysis


def _run(path, values, final, workdir='/nowhere'):
  return report.Run(path, workdir, {k: repr(v) for k, v in values.items()}, values, final, 'done')


def test_concept_shift_gaps_are_paired_by_seed(tmp_path):
  runs = []
  online = {('homeostatic', 0.01): [0.50, 0.60, 0.70], ('constant', 0.01): [0.45, 0.58, 0.60]}
  online[('constant', 0.02)] = [0.55, 0.65, 0.72]
  for (mode, lr), accs in online.items():
    for seed, acc in enumerate(accs):
      workdir = tmp_path / f'{mode}{lr}s{seed}'
      workdir.mkdir()
      rows = [{'step': 143 * (e + 1), 'split': 'train', 'online_accuracy': acc, 'swaps': 10.0 + e} for e in range(2)]
      (workdir / 'metrics.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in rows))
      values = {'MODE': mode, 'LR_INIT': lr, 'SEED': seed, 'SWAPS': 10, 'SEASONAL_AMPLITUDE': 10.0}
      final = {'mean_online_accuracy': acc, 'mean_accuracy': acc - 0.1, 'mean_lr': lr}
      runs.append(_run(workdir.name, values, final, str(workdir)))
  data = need_analysis.table_data(report.build(runs))
  assert data['learners'] == ['homeostatic', 'constant', 'constant_2x']
  cond = data['conditions'][0]
  mean, sem, n = need_analysis.paired_gap(data['values'], cond, 'homeostatic', 'constant')
  diffs = [0.05, 0.02, 0.10]
  assert n == 3 and mean == pytest.approx(sum(diffs) / 3)
  assert sem == pytest.approx(report.stat(diffs).std / 3**0.5)
  text = need_analysis.concept_shift(report.build(runs), str(tmp_path))
  assert '| seasonal 10±10 (period 10) | 0.60 ± 0.10 |' in text
  assert (tmp_path / 'concept_shift.png').stat().st_size > 2000


def test_ei_balance_compares_the_best_local_setting_with_the_global_sweep(tmp_path):
  runs = []
  scores = {('none', 1.0): 0.8, ('none', 2.0): 0.9, ('homogeneous', 0.3): 0.4, ('heterogeneous', 0.3): 0.6}
  for (method, knob), score in scores.items():
    for seed in range(2):
      values = {
        'ADAPTATION': method, 'INHIBITION_SCALE': knob if method == 'none' else 1.0, 'SEED': seed,
        'TARGET': 0.3 if method == 'none' else knob, 'projects.adaptive_reservoir.experiment.run.task': 'narma10',
      }  # fmt: skip
      runs.append(_run(f'{method}{knob}s{seed}', values, {'score': score + 0.01 * seed, 'mean_rate': 0.2}))
  text = reservoir_analysis.ei_balance(report.build(runs), str(tmp_path))
  # NRMSE: best global 0.805 (scale 1), worst 0.905; homogeneous 0.405: 1 - 0.405/0.805 = +50%, 1 - 0.405/0.905 = +55%
  assert '| narma10 | NRMSE | 0.8050 ± 0.0071 (1) | 0.4050 ± 0.0071 (0.3) | +50% | +55% |' in text
  assert (tmp_path / 'ei_balance.png').stat().st_size > 2000
