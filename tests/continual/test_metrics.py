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
