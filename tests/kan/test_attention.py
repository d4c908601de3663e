"""Fourier-KArAt: the edge-sum formula, low-rank shapes, universal sharing, ViT forward and bad settings."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common.kan.attention import FourierKArAt
from common.kan.vit import ViT
from common.train.errors import ConfigurationError


def test_full_karat_is_a_sum_of_fourier_edge_functions():
  op = FourierKArAt(num_heads=1, num_keys=3, grid_size=2)
  s = jax.random.normal(jax.random.PRNGKey(0), (1, 1, 2, 3))
  v = op.init(jax.random.PRNGKey(1), s)
  c = v['params']['coef'][0]  # (2G*N, N), basis-major rows: (cos m=1, cos m=2, sin m=1, sin m=2) x key p
  y = op.apply(v, s)
  a = np.asarray(s[0, 0, 0])
  expected = np.zeros(3)
  for p in range(3):
    for t, fn, m in ((0, np.cos, 1), (1, np.cos, 2), (2, np.sin, 1), (3, np.sin, 2)):
      expected += fn(m * a[p]) * np.asarray(c[t * 3 + p])
  np.testing.assert_allclose(y[0, 0, 0], expected, atol=1e-5)


def test_low_rank_and_universal_vit():
  x = jnp.zeros((2, 8, 8, 1))
  for mode, n_ops in (('blockwise', 2), ('universal', 1)):
    model = ViT(dim=16, depth=2, num_heads=2, attention='karat', karat_rank=4, karat_mode=mode)
    v = jax.jit(model.init)(jax.random.PRNGKey(0), x)
    ops = [k for k in jax.tree_util.tree_flatten_with_path(v['params'])[0] if 'karat' in str(k[0])]
    assert len(ops) == 2 * n_ops  # coef and w per operator
    assert jax.jit(model.apply)(v, x).shape == (2, 10)
  soft = ViT(dim=16, depth=1, num_heads=2)
  assert soft.apply(soft.init(jax.random.PRNGKey(0), x), x).shape == (2, 10)


def test_bad_settings_fail_early():
  with pytest.raises(ConfigurationError, match='FourierKArAt.rank'):
    FourierKArAt(num_heads=1, num_keys=4, rank=9)
  with pytest.raises(ConfigurationError, match='ViT.attention'):
    ViT(attention='linear')
