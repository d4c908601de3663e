"""Parameter counting and matching (common/kan/matching.py): counts equal the built models', matched widths are the
closest, and the S-KAN comparison's configs get the widths the comparison had before (651 / 667 / 645 on xy)."""

import jax
import jax.numpy as jnp
import pytest

from common.kan import matching
from common.kan.layers import KAN
from common.kan.skan import SKAN
from common.models.mlp import MLP
from common.train import state as state_lib
from common.train.errors import ConfigurationError


def _count(model, in_dim: int) -> int:
  shapes = jax.eval_shape(lambda: state_lib.init_variables(model, jnp.zeros((2, in_dim)), jax.random.PRNGKey(0)))
  return state_lib.count_params(shapes['params'])


@pytest.mark.parametrize('in_dim,widths', [(2, (5, 1)), (3, (4, 2, 1))])
def test_counts_equal_the_built_models(in_dim, widths):
  assert matching.dense_params('skan', in_dim, widths) == _count(SKAN(widths=widths), in_dim)
  for basis in ('bspline', 'fourier', 'rbf'):
    kan = KAN(widths=widths, basis=basis, grid_size=7)
    assert matching.dense_params('kan', in_dim, widths, basis=basis, grid_size=7) == _count(kan, in_dim)
  mlp = MLP(hidden=widths[:-1], out=widths[-1])
  assert matching.dense_params('mlp', in_dim, widths) == _count(mlp, in_dim)


def test_matched_hidden_is_the_closest_width():
  target = 1000
  (h, h2) = matching.matched_hidden(target, 'mlp', 2, 1, depth=2)
  assert h == h2
  gap = abs(matching.dense_params('mlp', 2, (h, h, 1)) - target)
  for other in (h - 1, h + 1):
    assert abs(matching.dense_params('mlp', 2, (other, other, 1)) - target) >= gap


def test_widths_as_given_or_matched_to_the_skan():
  skan_params = matching.dense_params('skan', 2, (5, 1))
  assert skan_params == 651
  assert matching.kan_widths(in_dim=2, hidden=(5,), out=1, basis='fourier') == (5, 1)
  widths = matching.kan_widths(in_dim=2, hidden=(5,), out=1, basis='fourier', match_skan=True)
  assert matching.dense_params('kan', 2, widths, basis='fourier') == 667  # within 2.5 % of 651
  hidden = matching.mlp_hidden(in_dim=2, hidden=(5,), out=1, match_skan=True, depth=2)
  assert len(hidden) == 2 and matching.dense_params('mlp', 2, hidden + (1,)) == 645


def test_bad_values_name_the_parameter():
  with pytest.raises(ConfigurationError, match='layer='):
    matching.edge_params('conv')
  with pytest.raises(ConfigurationError, match='hidden=()'):
    matching.kan_widths(in_dim=2, hidden=(), out=1)
  with pytest.raises(ConfigurationError, match='depth=0'):
    matching.matched_hidden(10, 'mlp', 2, 1, depth=0)
