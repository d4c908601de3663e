"""projects/ctm_maze: the LSTM baseline's parameter count matches the CTM's, and the report tabulates runs."""

import json

import numpy as np

from projects.ctm_maze import match, report


def test_lstm_baseline_is_parameter_matched():
  ctm, lstm = match.count(match.CTM_GIN), match.count(match.LSTM_GIN)
  assert abs(lstm - ctm) / ctm < 0.01


def fake_run(path, seed, solved):
  path.mkdir(parents=True)
  final = {'num_params': 1000, 'step': 5}
  for size, s in zip((11, 15), solved):
    final.update({f'size{size}_{k}': s for k in ('step_accuracy', 'route_accuracy', 'solved_first', 'solved')})
    final.update({f'size{size}_mean_applications': 1.5, f'size{size}_mean_route_length': float(size)})
  (path / 'final_metrics.json').write_text(json.dumps(final))
  per_maze = {'route_length': [2, 6, 9], 'solved': [True, True, False], 'applications': [1, 2, 20]}
  gen = {'route_length': 4, 'sizes': {str(s): per_maze for s in (11, 15)}}
  (path / 'generalisation.json').write_text(json.dumps(gen))


def test_report_tabulates_mean_and_std_over_seeds(tmp_path):
  fake_run(tmp_path / 'runs' / 'ctm_s0', 0, (0.8, 0.4))
  fake_run(tmp_path / 'runs' / 'ctm_s1', 1, (0.6, 0.2))
  fake_run(tmp_path / 'runs' / 'lstm_s0', 0, (0.5, 0.1))
  (tmp_path / 'runs' / 'lstm_s1').mkdir()  # unfinished: skipped
  report.main([str(tmp_path / 'runs'), '--out', str(tmp_path / 'out')])
  text = (tmp_path / 'out' / 'results.md').read_text()
  std = np.std([0.8, 0.6], ddof=1)
  assert f'| ctm | 1,000 | 2 | 11x11 | 0.700 ± {std:.3f} |' in text
  assert '| lstm | 1,000 | 1 | 15x15 | 0.100 |' in text
  assert (tmp_path / 'out' / 'generalisation.png').stat().st_size > 0
