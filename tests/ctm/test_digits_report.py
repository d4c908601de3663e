"""projects/ctm_digits/report.py: mean ± std over seeds from halting.json files; unfinished runs are skipped."""

import json

from projects.ctm_digits import report


def _run(path, acc):
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
  path.mkdir()
  halting = {'num_examples': 10, 'accuracy_per_tick': [acc, acc], 'certainty_per_tick': [0.1, 0.9]}
  halting['thresholds'] = {'0.5': entry}
  (path / 'halting.json').write_text(json.dumps(halting))
  return str(path)


def test_report_averages_seeds_and_skips_unfinished_runs(tmp_path):
  runs = report.load([_run(tmp_path / 's0', 0.8), _run(tmp_path / 's1', 0.9), str(tmp_path / 'missing')])
  text = report.tables(runs)
  assert text.startswith('2 seeds, 10 test digits')
  assert '| 0.5 | 0.850 ± 0.071 |' in text  # sample std of (0.8, 0.9)
