"""KAN / S-KAN convolutions: equal to KAN edges applied patch by patch, S-KAN selection and pruning on them,
parameter counting and matching."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common.kan import skan
from common.kan.conv import ConvClassifier, KANConv, SKANConv, classifier_params, matched_to_skan, pad_input
from common.kan.layers import KANDense
from common.kan.skan import SKANDense
from common.train.errors import ConfigurationError
from common.train.state import count_params

KEY = jax.random.PRNGKey(0)


def _patches(x, k):
  """(B, H, W, C) already padded -> (B, H - k + 1, W - k + 1, k * k * C) in (kh, kw, C) order, by loops."""
  b, h, w, c = x.shape
  rows = []
  for i in range(h - k + 1):
    cols = []
    for j in range(w - k + 1):
      cols.append(x[:, i : i + k, j : j + k, :].reshape(b, k * k * c))
    rows.append(jnp.stack(cols, 1))
  return jnp.stack(rows, 1)


def _tile_grid(grid, k):
  return jnp.tile(grid, (k * k, 1))  # (C, n) per channel -> (k k C, n) per patch input, (kh, kw, C) order


@pytest.mark.parametrize('basis', ['bspline', 'fourier', 'mexican_hat'])
def test_kan_conv_equals_kan_edges_on_every_patch(basis):
  x = jax.random.uniform(KEY, (2, 5, 6, 3), minval=-1, maxval=1)
  layer = KANConv(4, 3, basis=basis, grid_size=4)
  v = jax.jit(layer.init)(KEY, x)
  y = jax.jit(layer.apply)(v, x)
  assert y.shape == (2, 5, 6, 4)
  dense = KANDense(4, basis=basis, grid_size=4)
  dv = {'params': v['params'], 'kan_grid': {'grid': _tile_grid(v['kan_grid']['grid'], 3)}}
  want = jax.jit(dense.apply)(dv, _patches(pad_input(x, 3, 'SAME'), 3))
  np.testing.assert_allclose(y, want, atol=2e-5)


def test_skan_conv_equals_skan_edges_on_every_patch_with_a_mask():
  x = jax.random.uniform(KEY, (2, 6, 6, 2), minval=-1, maxval=1)
  pool = ('bspline', 'chebyshev', 'rbf')
  layer = SKANConv(3, 3, strides=1, padding='VALID', pool=pool, grid_size=4)
  v = jax.jit(layer.init)(KEY, x)
  params = {**v['params'], 'logits': jax.random.normal(KEY, v['params']['logits'].shape)}
  mask = (jax.random.uniform(jax.random.PRNGKey(1), params['logits'].shape) < 0.7).astype(jnp.float32)
  mask = mask.at[..., 0].set(1.0)  # every edge keeps at least one space
  vv = {**v, 'params': params, 'skan_mask': {'mask': mask}}
  y = jax.jit(layer.apply)(vv, x)
  grids = {f'grid_{n}': _tile_grid(v['kan_grid'][f'grid_{n}'], 3) for n in pool}
  want = jax.jit(SKANDense(3, pool=pool, grid_size=4).apply)(
    {'params': params, 'skan_mask': {'mask': mask}, 'kan_grid': grids}, _patches(x, 3)
  )
  np.testing.assert_allclose(y, want, atol=2e-5)


def test_train_skan_selection_and_pruning_work_on_convolutions():
  model = ConvClassifier(layer='skan', channels=(2, 3), pool=('bspline', 'fourier', 'rbf'), grid_size=3)
  shapes = jax.eval_shape(model.init, KEY, jnp.zeros((1, 8, 8, 1)))
  rng = np.random.default_rng(0)
  v = jax.tree_util.tree_map(lambda s: jnp.asarray(rng.standard_normal(s.shape), jnp.float32), shapes)
  v['skan_mask'] = jax.tree_util.tree_map(jnp.ones_like, v['skan_mask'])
  sel = skan.apply_selection(v, keep=2)
  pruned = skan.apply_selection(sel, keep=1)
  node = skan.apply_selection(v, keep=1, granularity='node')
  for name in ('conv_0', 'conv_1', 'head'):
    assert np.all(np.asarray(sel['skan_mask'][name]['mask']).sum(-1) == 2)
    assert np.all(np.asarray(pruned['skan_mask'][name]['mask']).sum(-1) == 1)
    m = np.asarray(node['skan_mask'][name]['mask'])
    assert np.all(m.sum(-1) == 1) and np.all(m == m[:1])  # 'node': every edge into a node keeps the same space
  top = np.argmax(np.asarray(v['params']['conv_0']['logits']), -1)
  assert np.all(np.asarray(pruned['skan_mask']['conv_0']['mask'])[np.arange(9)[:, None], np.arange(2)[None], top] == 1)

  layer = SKANConv(2, 3, pool=('bspline', 'fourier'), grid_size=3)  # a pruned space gets no gradient
  x = jax.random.uniform(KEY, (1, 4, 4, 1))
  lv = jax.jit(layer.init)(KEY, x)
  mask = jnp.zeros((9, 2, 2)).at[:5, :, 0].set(1.0).at[5:, :, 1].set(1.0)
  g = jax.jit(jax.grad(lambda p: jnp.sum(layer.apply({**lv, 'params': p, 'skan_mask': {'mask': mask}}, x) ** 2)))(
    lv['params']
  )
  assert np.all(np.asarray(g['coef_fourier'])[:5] == 0) and np.all(np.asarray(g['coef_bspline'])[5:] == 0)
  assert np.any(np.asarray(g['coef_fourier'])[5:] != 0)


@pytest.mark.parametrize('layer', ['conv', 'kan', 'skan'])
def test_parameter_count_formula_and_matching(layer):
  model = ConvClassifier(layer=layer, channels=(3, 5), basis='chebyshev')
  v = jax.eval_shape(model.init, KEY, jnp.zeros((1, 8, 8, 1)))
  assert count_params(v['params']) == classifier_params(layer, (3, 5), basis='chebyshev')
  target = classifier_params('skan', (4, 8))
  got = classifier_params(layer, matched_to_skan(layer, (4, 8), basis='chebyshev'), basis='chebyshev')
  assert abs(got - target) / target < 0.05


def test_shapes_and_bad_configuration():
  x = jnp.zeros((1, 9, 9, 2))
  out = jax.eval_shape(lambda x: KANConv(5, (3, 2), strides=2, padding='VALID').init_with_output(KEY, x)[0], x)
  assert out.shape == (1, 4, 4, 5)
  with pytest.raises(ConfigurationError, match='padding'):
    KANConv(2, padding='FULL')
  with pytest.raises(ConfigurationError, match='pool'):
    SKANConv(2, pool=('rbf', 'rbf'))
  with pytest.raises(ConfigurationError, match='layer'):
    ConvClassifier(layer='mlp')
