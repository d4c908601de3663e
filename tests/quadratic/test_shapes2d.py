import numpy as np
import pytest

from common.data.synthetic import shapes2d
from common.train.errors import ConfigurationError


def test_rings_labels_follow_the_radius():
  d = shapes2d.load('rings', num_train=400, num_eval=10, noise=0.0, num_rings=4, num_classes=2)
  x, y = d.train['inputs'], d.train['targets']
  ring = np.round(np.linalg.norm(x, axis=1) * 4).astype(int) - 1
  np.testing.assert_array_equal(y, ring % 2)
  assert x.dtype == np.float32 and y.dtype == np.int32


def test_checkerboard_and_polynomial():
  d = shapes2d.load('gaussian_mixture', num_train=2000, num_eval=10, noise=0.0, grid=4)
  x, y = d.train['inputs'], d.train['targets']
  cell = np.floor((x + 1) / 2 * 4).astype(int)
  np.testing.assert_array_equal(y, cell.sum(1) % 2)
  assert 0.4 < y.mean() < 0.6
  p = shapes2d.load('poly_quartic', num_train=50, num_eval=10, noise=0.0, seed=3)
  x = p.train['inputs']
  expected = (x[:, 0] ** 2 - x[:, 1] ** 2) ** 2 + x[:, 0] * x[:, 1] - 0.5 * x[:, 1]
  np.testing.assert_allclose(p.train['targets'][:, 0], expected, rtol=1e-5)
  np.testing.assert_array_equal(x, shapes2d.load('poly_quartic', num_train=50, num_eval=10, seed=3).train['inputs'])


def test_unknown_name_is_refused():
  with pytest.raises(ConfigurationError, match='name'):
    shapes2d.load('spirals')
