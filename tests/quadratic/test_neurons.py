import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common.quadratic import QuadraticConv, QuadraticDense, QuadraticMLP
from common.train.errors import ConfigurationError

X = jax.random.normal(jax.random.PRNGKey(0), (6, 5))


def _init(module, x=X, seed=1):
  variables = module.init(jax.random.PRNGKey(seed), x)
  return {'params': variables['params']}


@pytest.mark.parametrize('form', ['fan', 'product', 'power'])
def test_relinear_init_is_the_linear_neuron(form):
  layer = QuadraticDense(4, form=form, rank=2)
  v = _init(layer)
  r = v['params']['linear_r']
  np.testing.assert_allclose(layer.apply(v, X), X @ r['kernel'] + r['bias'], rtol=1e-6, atol=1e-6)


def test_relinear_init_conv_is_the_linear_conv():
  x = jax.random.normal(jax.random.PRNGKey(2), (2, 6, 6, 3))
  layer = QuadraticConv(5, kernel_size=(3, 3))
  v = _init(layer, x)
  conv = nn.Conv(5, (3, 3), padding='SAME')
  expected = conv.apply({'params': v['params']['linear_r']}, x)
  np.testing.assert_allclose(layer.apply(v, x), expected, rtol=1e-5, atol=1e-5)


def test_fan_form_formula_with_naive_init():
  layer = QuadraticDense(3, form='fan', init_scheme='naive')
  p = _init(layer)['params']
  p = jax.tree_util.tree_map(lambda a: a + 0.3, p)  # make every bias non-zero
  lin = lambda name, x: x @ p[name]['kernel'] + p[name]['bias']  # noqa: E731
  expected = lin('linear_r', X) * lin('quad_g', X) + lin('quad_b', X * X)
  np.testing.assert_allclose(layer.apply({'params': p}, X), expected, rtol=1e-5, atol=1e-5)


def test_product_form_sums_rank_products():
  layer = QuadraticDense(3, form='product', rank=2, init_scheme='naive')
  p = _init(layer)['params']
  a, g = X @ p['quad_a']['kernel'], X @ p['quad_g']['kernel']
  expected = X @ p['linear_r']['kernel'] + p['linear_r']['bias'] + (a * g).reshape(6, 3, 2).sum(-1)
  np.testing.assert_allclose(layer.apply({'params': p}, X), expected, rtol=1e-5, atol=1e-5)


def test_square_form_and_parameter_counts():
  counts = {}
  for form in ('fan', 'product', 'power', 'square'):
    layer = QuadraticDense(4, form=form, init_scheme='naive')
    counts[form] = sum(x.size for x in jax.tree_util.tree_leaves(_init(layer)))
  assert counts == {'fan': 3 * 24, 'product': 24 + 2 * 20, 'power': 24 + 20, 'square': 24}
  layer = QuadraticDense(4, form='square', init_scheme='naive')
  p = _init(layer)['params']['linear_r']
  np.testing.assert_allclose(layer.apply(_init(layer), X), (X @ p['kernel'] + p['bias']) ** 2, rtol=1e-5)


@pytest.mark.parametrize(
  'kwargs, word',
  [
    ({'form': 'cubic'}, 'form'),
    ({'form': 'square'}, 'square'),
    ({'init_scheme': 'zeros'}, 'init_scheme'),
    ({'shrink_g': -1.0}, 'shrink_g'),
  ],
)
def test_bad_configuration_names_the_parameter(kwargs, word):
  with pytest.raises(ConfigurationError, match=word):
    _init(QuadraticDense(4, **kwargs))


def test_shrinkage_is_sown_into_losses():
  layer = QuadraticDense(3, form='fan', init_scheme='naive', shrink_g=0.5, shrink_b=0.25)
  v = _init(layer)
  _, state = layer.apply(v, X, mutable=['losses'])
  (penalty,) = state['losses']['relinear_shrinkage']
  p = v['params']
  expected = 0.5 * jnp.sum(p['quad_g']['kernel'] ** 2) + 0.25 * jnp.sum(p['quad_b']['kernel'] ** 2)
  np.testing.assert_allclose(penalty, expected, rtol=1e-6)
  # No penalty configured: nothing is sown.
  _, state = QuadraticDense(3).apply(v, X, mutable=['losses'])
  assert not state.get('losses')


def test_mlp_shapes_and_quadratic_head():
  model = QuadraticMLP(hidden=(8, 8), out=3, quadratic_head=True)
  v = model.init(jax.random.PRNGKey(0), jnp.ones((2, 4, 4, 1)))
  assert model.apply(v, jnp.ones((2, 4, 4, 1))).shape == (2, 3)
  assert 'quad_g' in v['params']['head']
