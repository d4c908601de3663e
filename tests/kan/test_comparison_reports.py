"""The KAN projects' `launch report` analyses on hand-made run directories: projects/s_kan/analysis.py labels runs
by TASK/MODEL/BASIS/MATCH_SKAN and computes its verdicts from the means and on seed-paired gaps;
projects/kan_fitting/analysis.py tabulates the grid-extension KAN per grid and picks the MLP with the closest
parameter count."""

import json
import os

from launch import config_model as cm
from launch import report
from projects.kan_fitting import analysis as fitting_analysis
from projects.s_kan import analysis as skan_analysis


def _run(root, path, bindings: dict, final: dict):
  """A finished run directory: config/resolved.json (as the launcher writes it) and final_metrics.json."""
  workdir = os.path.join(root, path)
  os.makedirs(os.path.join(workdir, 'config'))
  resolved = {k: {'value': cm.to_json(v), 'gin': cm.to_gin(v), 'set_at': 'test'} for k, v in bindings.items()}
  with open(os.path.join(workdir, 'config', 'resolved.json'), 'w') as f:
    json.dump({'files': [], 'bindings': resolved}, f)
  with open(os.path.join(workdir, 'final_metrics.json'), 'w') as f:
    json.dump(final, f)


def _model(name):
  return cm.Ref(name, True)


def _table_rows(markdown: str, first_cell: str) -> list[list[str]]:
  return [
    [c.strip() for c in line.strip('|').split('|')]
    for line in markdown.splitlines()
    if line.startswith(f'| {first_cell} |')
  ]


def test_skan_tables_and_verdicts(tmp_path):
  # xy: S-KAN (0.02) beats fourier (0.05) and the MLP (0.03) but not fourier_matched (0.01).
  # digits (accuracy, higher is better): S-KAN 0.90 loses to bspline 0.92 and the MLP 0.95.
  cells = {
    ('xy', 'common.kan.skan.SKAN', None, None): ('rmse', [0.02, 0.02], 651),
    ('xy', 'common.kan.layers.KAN', 'fourier', False): ('rmse', [0.04, 0.06], 186),
    ('xy', 'common.kan.layers.KAN', 'fourier', True): ('rmse', [0.01, 0.01], 667),
    ('xy', 'common.models.mlp.MLP', None, None): ('rmse', [0.03, 0.03], 645),
    ('sklearn_digits', 'common.kan.skan.SKAN', None, None): ('accuracy', [0.9, 0.9], 15925),
    ('sklearn_digits', 'common.kan.layers.KAN', 'bspline', False): ('accuracy', [0.91, 0.93], 3715),
    ('sklearn_digits', 'common.models.mlp.MLP', None, None): ('accuracy', [0.95, 0.95], 15990),
  }
  for i, ((task, model, basis, matched), (metric, values, params)) in enumerate(cells.items()):
    for seed, value in enumerate(values):
      bindings = {'TASK': task, 'MODEL': _model(model), 'SEED': seed}
      if basis is not None:
        bindings.update(BASIS=basis, MATCH_SKAN=matched)
      _run(tmp_path, f'm{i}/seed_{seed}', bindings, {metric: value, 'num_params': params, 'loss': 0.1})
  built = report.build(report.find_runs(str(tmp_path)), group_by=['TASK', 'MODEL', 'BASIS', 'MATCH_SKAN'])
  text = skan_analysis.tables(built, str(tmp_path))
  xy = _table_rows(text, 'xy')
  # columns: bspline (digits only), fourier, skan, mlp, then the two verdicts
  assert xy[0][1:] == ['-', '0.050 ± 0.014 (186)', '0.02 ± 0 (651)', '0.03 ± 0 (645)', 'yes', 'yes']
  assert xy[1][1:] == ['0.02 ± 0 (651)', '0.01 ± 0 (667)', 'no']
  digits = _table_rows(text, 'sklearn_digits')
  assert digits[0][1:] == ['0.920 ± 0.014 (3715)', '-', '0.9 ± 0 (15925)', '0.95 ± 0 (15990)', 'no', 'no']
  assert len(digits) == 2  # no matched single basis ran on digits: no second-table row, only the claims row
  # seed-paired claims: xy beats fourier by (0.02, 0.04), the MLP by (0.01, 0.01), loses to fourier_matched by 0.01
  assert xy[2][1:] == [
    'fourier: +0.0300 ± 0.0100 (n=2)', 'at least: holds', 'mlp: +0.0100 ± 0.0000 (n=2)', 'above: holds',
    'fourier_matched: -0.0100 ± 0.0000 (n=2)', 'below: does not hold',
  ]  # fmt: skip
  assert digits[1][1:] == [
    'bspline: -0.0200 ± 0.0100 (n=2)', 'below, within noise (< 2 SE)', 'mlp: -0.0500 ± 0.0000 (n=2)',
    'below: does not hold', '-', '-',
  ]  # fmt: skip
  assert 'n = 2 seeds' in text
  assert (tmp_path / 'models.png').stat().st_size > 0


def test_skan_cells_with_mixed_configs_are_not_averaged(tmp_path):
  for seed, steps in ((0, 100), (1, 200)):
    bindings = {'TASK': 'xy', 'MODEL': _model('common.models.mlp.MLP'), 'SEED': seed, 'NUM_STEPS': steps}
    _run(tmp_path, f's{seed}', bindings, {'rmse': 0.1, 'num_params': 10})
  built = report.build(report.find_runs(str(tmp_path)), group_by=['TASK'])
  assert 'runs differ in NUM_STEPS' in skan_analysis.tables(built, str(tmp_path))


def test_kan_fitting_table_picks_the_equal_parameter_mlp(tmp_path):
  kan = {'ENTRY_POINT': _model('common.kan.phases.train_grid_extension'), 'FORMULA': 'xy', 'WIDTHS': (2, 1)}
  kan['GRID_SIZES'] = (3, 5)
  for seed, (r3, r5) in enumerate(((0.2, 0.010), (0.4, 0.030))):
    final = {'rmse': r5, 'rmse_grid3': r3, 'rmse_grid5': r5, 'num_params_grid3': 51, 'num_params_grid5': 63}
    _run(tmp_path, f'kan/s{seed}', {**kan, 'SEED': seed}, final)
  for h, params, rmse in ((4, 37, 0.05), (5, 51, 0.015), (8, 105, 0.001)):
    for seed in (0, 1):
      bindings = {'ENTRY_POINT': _model('common.train.loop.train'), 'FORMULA': 'xy', 'HIDDEN': (h, h), 'SEED': seed}
      _run(tmp_path, f'mlp/h{h}/s{seed}', bindings, {'rmse': rmse, 'num_params': params})
  built = report.build(report.find_runs(str(tmp_path)), group_by=['FORMULA', 'ENTRY_POINT', 'HIDDEN'])
  text = fitting_analysis.tables(built, str(tmp_path))
  (row,) = _table_rows(text, 'xy')
  # KAN at its last grid has 63 parameters: the h=5 MLP (51) is closest; 0.020 mean > 0.015, so the MLP wins.
  assert row[1:] == ['[2, 2, 1]', '0.30 ± 0.14 (51)', '0.020 ± 0.014 (63)', '0.015 ± 0 (h=5, 51)', 'no']
  assert (tmp_path / 'scaling.png').stat().st_size > 0
