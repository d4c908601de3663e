"""The CTM projects' `launch report` analyses on hand-made run directories: the maze table per model and size
(projects/ctm_maze/analysis.py), the digits halting tables (projects/ctm_digits/analysis.py) and the parity table
with each model scored at its own tick (projects/ctm_parity/analysis.py)."""

import json
import os

import numpy as np

from launch import config_model as cm
from launch import report
from projects.ctm_digits import analysis as digits_analysis
from projects.ctm_maze import analysis as maze_analysis
from projects.ctm_parity import analysis as parity_analysis


def _run(root, path, bindings: dict, final: dict | None, files: dict | None = None):
  """A run directory: config/resolved.json (as the launcher writes it), final_metrics.json unless final is None."""
  workdir = os.path.join(root, path)
  os.makedirs(os.path.join(workdir, 'config'))
  resolved = {k: {'value': cm.to_json(v), 'gin': cm.to_gin(v), 'set_at': 'test'} for k, v in bindings.items()}
  with open(os.path.join(workdir, 'config', 'resolved.json'), 'w') as f:
    json.dump({'files': [], 'bindings': resolved}, f)
  for name, obj in {**({'final_metrics.json': final} if final is not None else {}), **(files or {})}.items():
    with open(os.path.join(workdir, name), 'w') as f:
      json.dump(obj, f)


def _cells(markdown: str, first: str) -> list[list[str]]:
  return [[c.strip() for c in line.strip('|').split('|')] for line in markdown.splitlines() if line.startswith(first)]


def _maze_final(solved: tuple[float, float], params: int) -> dict:
  final = {'num_params': params, 'step': 5}
  for size, s in zip((11, 15), solved):
    final.update({f'size{size}_{k}': s for k in ('step_accuracy', 'route_accuracy', 'solved_first', 'solved')})
    final.update({f'size{size}_mean_applications': 1.5, f'size{size}_mean_route_length': float(size)})
  return final


def test_maze_table_per_model_and_size(tmp_path):
  per_maze = {'route_length': [2, 6, 9], 'solved': [True, True, False], 'applications': [1, 2, 20]}
  gen = {'route_length': 4, 'sizes': {'11': per_maze, '15': per_maze}}
  ctm, lstm = cm.Ref('common.ctm.ctm.CTM', True), cm.Ref('common.ctm.lstm.LSTMBaseline', True)
  for seed, solved in enumerate([(0.8, 0.4), (0.6, 0.2)]):
    bindings = {'MODEL': ctm, 'USE_MOST_CERTAIN': True, 'SEED': seed}
    _run(tmp_path, f'ctm{seed}', bindings, _maze_final(solved, 1000), {'generalisation.json': gen})
  lstm_bindings = {'MODEL': lstm, 'USE_MOST_CERTAIN': False, 'SEED': 0}
  _run(tmp_path, 'lstm0', lstm_bindings, _maze_final((0.5, 0.1), 1010), {'generalisation.json': gen})
  _run(tmp_path, 'lstm1', {**lstm_bindings, 'SEED': 1}, None)  # unfinished: not averaged
  text = maze_analysis.generalisation(report.build(report.find_runs(str(tmp_path))), str(tmp_path))
  rows = _cells(text, '| CTM |') + _cells(text, '| LSTMBaseline |')
  assert [r[:4] for r in rows] == [
    ['CTM', '1,000', '2', '11x11'],
    ['CTM', '1,000', '2', '15x15'],
    ['LSTMBaseline', '1,010', '1', '11x11'],
    ['LSTMBaseline', '1,010', '1', '15x15'],
  ]
  assert rows[0][7] == report.fmt_stat(report.stat([0.8, 0.6]))  # solved, re-applied: mean ± sample std
  assert np.isclose(report.stat([0.8, 0.6]).std, np.std([0.8, 0.6], ddof=1))
  assert rows[3][7] == report.fmt_stat(report.stat([0.1]))
  # The claim pairs seeds: only seed 0 finished for the LSTM, so one pair (0.8 - 0.5 solved on 11x11) and no verdict.
  claim_rows = {(r[0], r[1].split(';')[0]): r for r in _cells(text, '| CTM above matched LSTM')}
  assert claim_rows[('CTM above matched LSTM (solved, re-applied)', '11x11')][2:] == [
    '+0.3000 (n=1)',
    'one seed: no verdict (above)',
  ]
  assert len(claim_rows) == 4  # 2 sizes x (solved, step accuracy)
  assert (tmp_path / 'generalisation.png').stat().st_size > 2000


def test_maze_model_named_without_the_macro():
  values = {'projects.ctm_maze.experiment.run.model': {'@': 'common.ctm.lstm.LSTMBaseline', 'call': True}}
  run = report.Run('r', '/nowhere', {k: '' for k in values}, values, {}, 'done')
  assert maze_analysis.model_name(run) == 'LSTMBaseline'


def _halting(acc: float) -> dict:
  entry = {
    'accuracy': acc,
    'mean_ticks': 6.0,
    'halted_fraction': 1.0,
    'mean_ticks_correct': 5.0,
    'mean_ticks_wrong': 7.0,
    'mean_ticks_easy_half': 5.5,
    'mean_ticks_hard_half': 6.5,
    'spearman_ticks_vs_difficulty': 0.3,
  }
  return {
    'num_examples': 10,
    'accuracy_per_tick': [acc, acc],
    'certainty_per_tick': [0.1, 0.9],
    'thresholds': {'0.5': entry},
  }


def test_digits_halting_tables_over_seeds(tmp_path):
  for seed, acc in enumerate([0.8, 0.9]):
    _run(tmp_path, f's{seed}', {'SEED': seed}, {'accuracy': acc}, {'halting.json': _halting(acc)})
  _run(tmp_path, 's2', {'SEED': 2}, {'accuracy': 0.5})  # finished without halting.json: counted, left out
  text = digits_analysis.halting(report.build(report.find_runs(str(tmp_path))), str(tmp_path))
  assert text.startswith('2 seeds, 10 test digits')
  row = _cells(text, '| 0.5 |')[0]
  assert row[1] == report.fmt_stat(report.stat([0.8, 0.9]))
  assert '1 finished run(s) without halting.json left out' in text
  assert (tmp_path / 'halting.png').stat().st_size > 2000


def test_parity_scores_each_model_at_its_tick(tmp_path):
  ctm, lstm = cm.Ref('common.ctm.ctm.CTM', True), cm.Ref('common.ctm.lstm.LSTMBaseline', True)
  model_key = 'common.train.loop.train.model'

  def final(acc, last, t):
    per_tick = {f'tick{i:03d}_accuracy': 0.5 + 0.01 * i for i in range(1, t + 1)}  # as tasks.ParityTask names them
    return {'accuracy': acc, 'accuracy_last': last, 'accuracy_best': 0.9, 'num_params': 100, 'step': 40, **per_tick}

  for seed in range(2):
    for t in (1, 4):
      base = {model_key: ctm, 'ITERATIONS': t, 'D_MODEL': 64, 'SEED': seed}
      _run(tmp_path, f'ctm_t{t}_s{seed}', base, final(0.7 + 0.1 * seed, 0.6, t))
      _run(tmp_path, f'lstm_t{t}_s{seed}', {**base, model_key: lstm, 'LSTM_HIDDEN': 51}, final(0.3, 0.65, t))
    ablation = {model_key: ctm, 'ITERATIONS': 4, 'D_MODEL': 64, 'common.ctm.ctm.CTM.shared_nlm': True, 'SEED': seed}
    _run(tmp_path, f'shared_s{seed}', ablation, final(0.77, 0.6, 4))
  text = parity_analysis.parity(report.build(report.find_runs(str(tmp_path))), str(tmp_path))
  rows = _cells(text, '| CTM T') + _cells(text, '| LSTM')
  names = [r[0] for r in rows]
  ctm_names = ['CTM T=1, D 64', 'CTM T=4, D 64', 'CTM T=4, D 64, shared NLM']
  assert names == ctm_names + ['LSTM T=1, hidden 51', 'LSTM T=4, hidden 51']
  assert rows[0][4] == report.fmt_stat(report.stat([0.7, 0.8]))  # the CTM at its most certain tick
  assert rows[3][4] == report.fmt_stat(report.stat([0.65, 0.65]))  # the LSTM at its last tick
  assert parity_analysis.rows(report.build(report.find_runs(str(tmp_path))))[1]['per_tick'] == [0.51, 0.52, 0.53, 0.54]
  assert (tmp_path / 'accuracy.png').stat().st_size > 2000


def test_parity_names_bfloat16_rows_and_pairs_them_with_float32(tmp_path):
  ctm = cm.Ref('common.ctm.ctm.CTM', True)
  for seed, (f32, bf16) in enumerate([(0.70, 0.71), (0.80, 0.78), (0.75, 0.72)]):  # bf16 - f32: +0.01, -0.02, -0.03
    for dtype, acc in (('float32', f32), ('bfloat16', bf16)):
      bindings = {'common.train.loop.train.model': ctm, 'ITERATIONS': 4, 'D_MODEL': 64, 'SEED': seed}
      bindings['common.ctm.ctm.CTM.compute_dtype'] = dtype
      final = {'accuracy': acc, 'accuracy_last': acc, 'num_params': 100, 'step': 40}
      _run(tmp_path, f'{dtype}_s{seed}', bindings, final)
  text = parity_analysis.parity(report.build(report.find_runs(str(tmp_path))), str(tmp_path))
  assert [r[0] for r in _cells(text, '| CTM')] == ['CTM T=4, D 64', 'CTM T=4, D 64, bfloat16 matmuls']
  assert 'bfloat16 - float32 = -0.0133 ± 0.0120 (n=3)' in text
  assert 'per seed +0.0100, -0.0200, -0.0300' in text


def test_parity_claims_pair_seeds_and_match_the_lstm_by_parameters():
  def row(model, t, acc, params=100, ablation='', width='D 64'):
    seeds = {s: acc + 0.01 * s for s in range(3)}
    return dict(model=model, T=t, width=width, ablation=ablation, steps=40, params=params, seeds=seeds)

  table = [
    row('CTM', 1, 0.60), row('CTM', 16, 0.70), row('CTM', 16, 0.65, ablation='shared NLM'),
    row('LSTM', 16, 0.66, params=101, width='hidden 51'), row('LSTM', 1, 0.50, params=200, width='hidden 90'),
  ]  # fmt: skip
  claims = {c[0]: (c[2], c[3]) for c in _cells('\n'.join(parity_analysis.claim_lines(table)), '| ')[1:]}
  assert claims['CTM above matched LSTM (LSTM T=16, hidden 51)'] == ('+0.0400 ± 0.0000 (n=3)', 'above: holds')
  assert not any('T=1, hidden 90' in c for c in claims)  # 200 parameters against 100: not matched
  assert claims['accuracy rises with T (T=16 above T=1)'][1] == 'above: holds'
  assert claims['full CTM above ablation (shared NLM)'][0] == '+0.0500 ± 0.0000 (n=3)'
