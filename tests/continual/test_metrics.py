import numpy as np
import pytest

from common.continual import metrics


def test_metrics_by_hand(tmp_path):
  acc = np.array([[0.9, 0.2, 0.1], [0.5, 0.8, 0.3], [0.4, 0.6, 0.7]])
  base = np.array([0.1, 0.1, 0.1])
  m = metrics.continual_metrics(acc, base)
  assert m['acc'] == pytest.approx((0.4 + 0.6 + 0.7) / 3)
  assert m['bwt'] == pytest.approx(((0.4 - 0.9) + (0.6 - 0.8)) / 2)
  assert m['fwt'] == pytest.approx(((0.2 - 0.1) + (0.3 - 0.1)) / 2)
  assert m['forgetting'] == pytest.approx(((0.9 - 0.4) + (0.8 - 0.6)) / 2)
  path = metrics.plot_accuracy_matrix(acc, str(tmp_path / 'acc.png'))
  assert (tmp_path / 'acc.png').stat().st_size > 1000 and path.endswith('acc.png')


def test_single_task_and_bad_shape():
  assert metrics.continual_metrics(np.array([[0.7]]))['bwt'] == 0.0
  with pytest.raises(ValueError, match='square'):
    metrics.continual_metrics(np.zeros((2, 3)))


def test_report_with_only_failed_runs(tmp_path):
  """A method whose runs all diverged (no final_metrics.json) gets an n/a row and no plot, not a crash."""
  from common.continual import report

  runs = report.load_runs(str(tmp_path), ['diverged'], [0, 1])
  assert runs == {'diverged': []}
  assert '| diverged | n/a |' in report.markdown_table(runs, {'diverged': 'launch ...'})
  assert report.plot_summary(runs, str(tmp_path / 's.png')) is None
  assert report.plot_matrices(runs, str(tmp_path / 'm.png')) is None
