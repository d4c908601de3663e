"""Basis values against independent references (scipy, numpy) and their defining properties."""

import jax.numpy as jnp
import numpy as np
import pytest
from numpy.polynomial import chebyshev as npcheb
from scipy.interpolate import BSpline

from common.kan import bases
from common.train.errors import ConfigurationError


@pytest.mark.parametrize('grid_size,order', [(3, 1), (5, 3), (10, 2), (7, 3)])
def test_bspline_matches_scipy(grid_size, order):
  knots = np.asarray(bases.uniform_knots(grid_size, order, (-1.0, 2.0)), np.float64)
  # A non-uniform grid too (what grid updates produce).
  rng = np.random.default_rng(0)
  warped = np.sort(knots + rng.uniform(-0.2, 0.2, knots.shape) * (knots[1] - knots[0]))
  x = np.linspace(-1.0, 2.0, 301)[:-1]  # the base interval [t_k, t_{n}), where the bases sum to one
  for t in (knots, warped):
    x_in = np.linspace(t[order], t[-order - 1], 301)[:-1]
    ours = np.asarray(bases.bspline(jnp.asarray(x_in[:, None], jnp.float32), jnp.asarray(t[None], jnp.float32), order))
    n = len(t) - order - 1
    ref = np.stack([BSpline(t, np.eye(n)[j], order, extrapolate=False)(x_in) for j in range(n)], -1)
    np.testing.assert_allclose(ours[:, 0, :], np.nan_to_num(ref), atol=2e-6)
  del x


def test_bspline_partition_of_unity_and_zero_outside():
  t = bases.uniform_knots(5, 3)[None]
  x = jnp.linspace(-0.999, 0.999, 50)[:, None]
  np.testing.assert_allclose(np.asarray(bases.bspline(x, t, 3)).sum(-1), 1.0, atol=1e-5)
  far = bases.bspline(jnp.array([[5.0], [-5.0]]), t, 3)
  assert np.all(np.asarray(far) == 0.0)


def test_chebyshev_matches_numpy():
  x = np.linspace(-2, 2, 41)
  ours = np.asarray(bases.chebyshev(jnp.asarray(x[:, None], jnp.float32), 6))[:, 0]
  u = np.tanh(x)
  ref = np.stack([npcheb.chebval(u, np.eye(7)[d]) for d in range(7)], -1)
  np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_fourier_rbf_mexican_hat_formulas():
  x = jnp.array([[0.3]])
  f = np.asarray(bases.fourier(x, 3, 2.0))[0, 0]
  np.testing.assert_allclose(
    f, [np.cos(0.6), np.cos(1.2), np.cos(1.8), np.sin(0.6), np.sin(1.2), np.sin(1.8)], rtol=1e-5
  )
  c = jnp.array([[-1.0, 0.0, 1.0]])
  np.testing.assert_allclose(
    np.asarray(bases.gaussian_rbf(x, c))[0, 0], np.exp(-((0.3 - np.array([-1, 0, 1])) ** 2)), rtol=1e-5
  )
  u2 = (0.3 - np.array([-1, 0, 1])) ** 2
  np.testing.assert_allclose(np.asarray(bases.mexican_hat(x, c))[0, 0], (1 - u2) * np.exp(-u2 / 2), rtol=1e-5)


@pytest.mark.parametrize('name', sorted(bases.BASES))
def test_registry_shapes(name):
  spec = bases.get_basis(name)
  grid = spec.initial_grid(4, 5, 3, (-1.0, 1.0))
  out = spec.evaluate(jnp.zeros((2, 4)), grid, 5, 3)
  assert out.shape == (2, 4, spec.num_basis(5, 3))
  assert spec.interior(grid, 3).shape[0] == 4


def test_bad_configuration_names_the_parameter():
  with pytest.raises(ConfigurationError, match='Layer.basis'):
    bases.check_grid('splines', 5, 3, (-1, 1), owner='Layer')
  with pytest.raises(ConfigurationError, match='Layer.grid_size=2'):
    bases.check_grid('bspline', 2, 3, (-1, 1), owner='Layer')
  with pytest.raises(ConfigurationError, match='grid_range'):
    bases.check_grid('bspline', 5, 3, (1, -1), owner='Layer')


@pytest.mark.parametrize('order', [0, 1, 2, 3, 4])
def test_closed_form_uniform_bspline_matches_recursion(order):
  knots = bases.uniform_knots(6, order, (-1.0, 1.5))
  x = jnp.linspace(-2.0, 2.5, 97)[:, None]
  ref = bases.bspline(x, knots[None], order)
  fast = bases.bspline_uniform(x, knots[:1], knots[1:2] - knots[:1], 6 + order, order)
  np.testing.assert_allclose(np.asarray(fast), np.asarray(ref), atol=4e-6)
