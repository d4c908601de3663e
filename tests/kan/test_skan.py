"""S-KAN: mixture equals the weighted sum of single-basis edges, selection masks, bad pools fail early."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common.kan import skan
from common.train.errors import ConfigurationError


def test_mixture_equals_weighted_sum_of_bases():
  layer = skan.SKANDense(3, pool=('bspline', 'fourier'), noise_scale=1.0)
  x = jax.random.uniform(jax.random.PRNGKey(0), (6, 2), minval=-1, maxval=1)
  v = jax.jit(layer.init)(jax.random.PRNGKey(1), x)
  p = dict(v['params'])
  p['logits'] = jax.random.normal(jax.random.PRNGKey(2), p['logits'].shape)
  v = {**v, 'params': p}
  y = jax.jit(layer.apply)(v, x)
  from common.kan import bases

  a = jax.nn.softmax(p['logits'], -1)
  edges = jax.nn.silu(x)[..., None] * p['scale_base']
  for k, name in enumerate(('bspline', 'fourier')):
    spec = bases.get_basis(name)
    vals = spec.evaluate(x, v['kan_grid'][f'grid_{name}'], 5, 3)
    edges = edges + jnp.einsum('bim,imo->bio', vals, p[f'coef_{name}']) * p['scale_sp'] * a[..., k]
  np.testing.assert_allclose(y, edges.sum(1) + p['bias'], atol=1e-5)


def test_selection_keeps_top_spaces_and_prunes_to_one():
  logits = jnp.array([[[0.0, 2.0, 1.0, -1.0]], [[3.0, 0.0, 0.0, 1.0]]])  # (in=2, out=1, K=4)
  mask = jnp.ones_like(logits)
  top2 = skan.select_mask(logits, mask, 2)
  np.testing.assert_array_equal(top2[0, 0], [0, 1, 1, 0])
  np.testing.assert_array_equal(top2[1, 0], [1, 0, 0, 1])
  top1 = skan.select_mask(logits, top2, 1)
  assert top1.sum() == 2 and top1[0, 0, 1] == 1
  node = skan.select_mask(logits, mask, 1, granularity='node')
  np.testing.assert_array_equal(node[0, 0], node[1, 0])


def test_masked_spaces_get_no_weight_and_no_gradient():
  model = skan.SKAN(widths=(2, 1), pool=('bspline', 'rbf', 'chebyshev'), grid_size=4)
  x = jax.random.uniform(jax.random.PRNGKey(0), (8, 3), minval=-1, maxval=1)
  v = jax.jit(model.init)(jax.random.PRNGKey(0), x)
  v = skan.apply_selection(v, 1)
  grads = jax.grad(lambda p: model.apply({**v, 'params': p}, x).sum())(v['params'])
  mask = v['skan_mask']['skan_0']['mask']
  for k, name in enumerate(('bspline', 'rbf', 'chebyshev')):
    g = grads['skan_0'][f'coef_{name}']  # (in, M, out)
    dead = (mask[..., k] == 0)[:, None, :]
    assert float(jnp.abs(jnp.where(dead, g, 0.0)).max()) == 0.0


def test_bad_pool_fails_at_construction():
  with pytest.raises(ConfigurationError, match='SKANDense.pool'):
    skan.SKANDense(3, pool=())
  with pytest.raises(ConfigurationError, match='SKAN.pool'):
    skan.SKAN(pool=())
  with pytest.raises(ConfigurationError, match="basis='wavelet'"):
    skan.SKANDense(3, pool=('bspline', 'wavelet'))
  with pytest.raises(ConfigurationError, match='SKAN.grid_size=2 gives a grid of 3 points, fewer than order\\+1=4'):
    skan.SKAN(grid_size=2, order=3)
  assert skan.phase_steps(10, (0.5, 0.25, 0.25)) == [5, 2, 3]
  assert skan.phase_steps(1000, (0.5, 0.25, 0.25)) == [500, 250, 250]
  assert skan.phase_steps(3, (0.5, 0.25, 0.25)) == [1, 1, 1]
