"""KANDense: the formula, the pykan initialisation, no (B, in, out) tensor, regulariser, grid update/extension."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common.kan import bases
from common.kan import grid as grid_lib
from common.kan.layers import KAN, KANDense, fit_coefficients, init_coefficients, regularization
from common.train.errors import ConfigurationError


def _init(layer, x, seed=0):
  return jax.jit(layer.init)(jax.random.PRNGKey(seed), x)


def _apply(model, v, x):
  return jax.jit(model.apply)(v, x)


def test_forward_equals_edge_sum():
  layer = KANDense(3, grid_size=4, noise_scale=2.0)
  x = jax.random.uniform(jax.random.PRNGKey(1), (7, 5), minval=-1, maxval=1)
  v = _init(layer, x)
  p, grid = v['params'], v['kan_grid']['grid']
  values = layer.basis_values(x, grid)
  edges = jax.nn.silu(x)[..., None] * p['scale_base'] + jnp.einsum('bim,imo->bio', values, p['coef']) * p['scale_sp']
  np.testing.assert_allclose(_apply(layer, v, x), edges.sum(1) + p['bias'], atol=1e-5)


def test_pykan_initialisation_scales():
  layer = KANDense(64, grid_size=5, noise_scale=0.3)
  v = _init(layer, jnp.zeros((2, 16)))
  p = v['params']
  np.testing.assert_allclose(p['scale_sp'], 1 / 4.0)
  assert np.abs(p['scale_base']).max() <= 1 / 4.0 + 1e-6 and np.abs(p['scale_base']).std() > 0.05
  # The init spline is a least-squares fit of noise of amplitude noise_scale / (2 G) at the interior knots.
  x = jnp.linspace(-1, 1, 6)[:, None] * jnp.ones((1, 16))
  spline = jnp.einsum('bim,imo->bio', layer.basis_values(x, v['kan_grid']['grid']), p['coef'])
  assert 0.003 < float(jnp.abs(spline).max()) <= 0.3 / 10 + 1e-4


def test_no_batch_in_out_tensor_in_forward():
  b, i, o = 32, 6, 13
  layer = KANDense(o)
  x = jnp.ones((b, i))
  v = _init(layer, x)
  jaxpr = jax.make_jaxpr(lambda v, x: layer.apply(v, x))(v, x)
  shapes = {tuple(var.aval.shape) for eqn in jaxpr.jaxpr.eqns for var in eqn.outvars}
  assert (b, i, o) not in shapes
  assert (b, o) in shapes


def test_regulariser_is_sown_and_matches_paper_formula():
  layer = KANDense(3, reg_weight=0.5, l1_weight=1.0, entropy_weight=2.0)
  x = jax.random.normal(jax.random.PRNGKey(2), (9, 4))
  v = _init(layer, x)
  _, aux = layer.apply(v, x, mutable=['losses'])
  (reg,) = jax.tree_util.tree_leaves(aux['losses'])
  p = v['params']
  values = layer.basis_values(x, v['kan_grid']['grid'])
  edges = jax.nn.silu(x)[..., None] * p['scale_base'] + jnp.einsum('bim,imo->bio', values, p['coef']) * p['scale_sp']
  l1 = jnp.abs(edges).mean(0)
  q = l1 / l1.sum()
  expected = 0.5 * (l1.sum() + 2.0 * -(q * jnp.log(q)).sum())
  np.testing.assert_allclose(reg, expected, rtol=1e-4)
  assert float(regularization(jnp.ones((2, 2)), 0.0, 1.0)) == pytest.approx(np.log(4), rel=1e-5)
  assert 'losses' not in KANDense(3).apply(v, x, mutable=['losses'])[1]


def test_out_of_range_clamp_holds_boundary_value():
  layer = KANDense(2, out_of_range='clamp', noise_scale=3.0, base_activation='zero')
  v = _init(layer, jnp.zeros((1, 1)))
  edge = layer.apply(v, jnp.array([[1.0 - 1e-6]]))
  np.testing.assert_allclose(layer.apply(v, jnp.array([[7.0]])), edge, atol=1e-4)
  extend = KANDense(2, noise_scale=3.0, base_activation='zero')
  np.testing.assert_allclose(extend.apply(v, jnp.array([[7.0]])), v['params']['bias'][None], atol=1e-7)


@pytest.mark.parametrize('basis', ['bspline', 'chebyshev', 'fourier', 'rbf', 'mexican_hat'])
def test_grid_extension_preserves_function(basis):
  model = KAN(widths=(3, 1), basis=basis, grid_size=5, noise_scale=1.0)
  x = jax.random.uniform(jax.random.PRNGKey(3), (128, 2), minval=-0.9, maxval=0.9)
  v = _init(model, x[:2])
  finer = model.clone(grid_size=10)
  v2 = grid_lib.extend_grid(model, finer, v, x)
  assert v2['params']['kan_0']['coef'].shape[1] > v['params']['kan_0']['coef'].shape[1]
  tol = 1e-5 if basis in ('bspline', 'chebyshev', 'fourier') else 5e-3
  np.testing.assert_allclose(_apply(finer, v2, x), _apply(model, v, x), atol=tol)


def test_grid_update_moves_grid_to_data_and_keeps_function():
  model = KAN(widths=(1,), grid_size=8, noise_scale=0.5)
  x = jax.random.uniform(jax.random.PRNGKey(4), (512, 1), minval=0.0, maxval=0.5)
  v = _init(model, x[:2])
  v2 = grid_lib.update_grid(model, v, x, grid_eps=0.02)
  knots = np.asarray(v2['kan_grid']['kan_0']['grid'])[0]
  assert -0.01 < knots[3] < 0.01 and 0.49 < knots[-4] < 0.51
  np.testing.assert_allclose(_apply(model, v2, x), _apply(model, v, x), atol=2e-3)


def test_bad_inputs_fail_at_construction():
  with pytest.raises(ConfigurationError, match='KANDense.grid_size=1'):
    KANDense(4, grid_size=1, order=3)
  with pytest.raises(ConfigurationError, match="KANDense.basis='legendre'"):
    KANDense(4, basis='legendre')
  with pytest.raises(ConfigurationError, match='KAN.basis'):
    KAN(widths=(2, 1), basis=('bspline', 'nope'))
  with pytest.raises(ConfigurationError, match='KAN.basis has 3 entries'):
    KAN(widths=(2, 1), basis=('bspline',) * 3)


def test_per_layer_basis_and_jit_grad():
  model = KAN(widths=(4, 2), basis=('chebyshev', 'rbf'), grid_size=4)
  x = jnp.ones((3, 5))
  v = _init(model, x)
  grads = jax.jit(jax.grad(lambda p: model.apply({**v, 'params': p}, x).sum()))(v['params'])
  assert all(np.isfinite(g).all() for g in jax.tree_util.tree_leaves(grads))
  assert v['params']['kan_0']['coef'].shape == (5, 5, 4)


def test_uniform_grid_fast_path_equals_general_path():
  x = jax.random.uniform(jax.random.PRNGKey(5), (16, 4), minval=-1.3, maxval=1.3)
  general, fast = KANDense(3, noise_scale=1.0), KANDense(3, noise_scale=1.0, uniform_grid=True)
  v = _init(general, x)
  np.testing.assert_allclose(_apply(fast, v, x), _apply(general, v, x), atol=1e-5)


@pytest.mark.parametrize('basis', ['bspline', 'chebyshev', 'fourier', 'rbf', 'mexican_hat'])
def test_host_init_fit_equals_least_squares_on_the_initial_grid(basis):
  spec = bases.get_basis(basis)
  grid = spec.initial_grid(3, 5, 3, (-1.0, 2.0))
  points = spec.interior(grid, 3)
  samples = jnp.linspace(points[:, 0], points[:, -1], 6)  # (G+1, in)
  noise = jax.random.uniform(jax.random.PRNGKey(6), (6, 3, 2)) - 0.5
  expected = fit_coefficients(spec.evaluate(samples, grid, 5, 3), noise)
  np.testing.assert_allclose(init_coefficients(basis, 5, 3, (-1.0, 2.0), noise), expected, atol=2e-5)


def test_kan_passes_uniform_grid_to_its_layers():
  model = KAN(widths=(1,), grid_size=8, uniform_grid=True)
  x = jax.random.uniform(jax.random.PRNGKey(7), (512, 1), minval=0.0, maxval=0.5) ** 2  # skewed samples
  v = grid_lib.update_grid(model, _init(model, x[:2]), x, grid_eps=0.02)
  knots = np.asarray(v['kan_grid']['kan_0']['grid'])[0]
  np.testing.assert_allclose(np.diff(knots), np.diff(knots)[0], rtol=1e-4)  # the range moved, spacing uniform
