"""Synaptic delay layers: causal kernels, fixed delays shift impulses, DCLS positions and annealing."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common.dendritic import DCLSDelayDense, DelayKernelDense, FixedDelayDense, causal_conv
from common.train.errors import ConfigurationError

KEY = jax.random.PRNGKey(0)


def test_causal_conv_matches_loop():
  x = jax.random.normal(KEY, (2, 9, 3))
  k = jax.random.normal(jax.random.PRNGKey(1), (4, 3, 2))
  y = np.asarray(causal_conv(x, k))
  xn, kn = np.asarray(x), np.asarray(k)
  ref = np.zeros((2, 9, 2))
  for t in range(9):
    for d in range(4):
      if t - d >= 0:
        ref[:, t] += xn[:, t - d] @ kn[d]
  np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)


def test_fixed_delays_shift_an_impulse():
  delays = np.array([[0, 3], [2, 1]])
  layer = FixedDelayDense(features=2, max_delay=4, delays=delays)
  x = jnp.zeros((1, 8, 2)).at[0, 1, 0].set(1.0)  # input 0 fires at t=1
  v = layer.init(KEY, x)
  y = np.asarray(layer.apply(v, x))[0]
  w = np.asarray(v['params']['kernel'])
  assert y[1, 0] == pytest.approx(w[0, 0]) and y[4, 1] == pytest.approx(w[0, 1])
  assert np.count_nonzero(np.abs(y) > 1e-7) == 2
  random_layer = FixedDelayDense(features=5, max_delay=6)
  d = np.asarray(random_layer.init(KEY, jnp.ones((1, 3, 4)))['delays']['delay'])
  assert d.shape == (4, 5) and d.min() >= 0 and d.max() < 6


def test_delay_kernel_layer_is_causal():
  layer = DelayKernelDense(features=3, max_delay=5)
  x = jax.random.normal(KEY, (1, 12, 2))
  v = layer.init(KEY, x)
  y = layer.apply(v, x)
  y2 = layer.apply(v, x.at[:, 8:].set(0.0))
  np.testing.assert_allclose(y[:, :8], y2[:, :8], rtol=1e-6)
  assert not np.allclose(y[:, 8:], y2[:, 8:])


def test_dcls_narrow_gaussian_is_an_integer_delay_and_anneals():
  layer = DCLSDelayDense(features=1, max_delay=6, sigma_start=0.05, sigma_end=0.05)
  x = jnp.zeros((1, 10, 1)).at[0, 0, 0].set(1.0)
  v = layer.init(KEY, x)
  v['params']['position'] = jnp.array([[3.0]])
  y = np.asarray(layer.apply(v, x))[0, :, 0] - np.asarray(v['params']['bias'])[0]
  assert np.argmax(np.abs(y)) == 3
  g = jax.grad(lambda p: layer.apply({**v, 'params': p}, x).sum())(v['params'])
  assert np.isfinite(g['position']).all()
  wide = DCLSDelayDense(features=1, max_delay=6, sigma_start=3.0, sigma_end=0.5, anneal_steps=2)
  vw = wide.init(KEY, x)
  _, upd = wide.apply(vw, x, train=True, mutable=['dcls'])
  assert float(upd['dcls']['step']) == 1.0
  np.testing.assert_allclose(wide.apply({**vw, **upd}, method=lambda m: m._sigma(upd['dcls']['step'])), 1.75)


@pytest.mark.parametrize(
  'build, word',
  [
    (lambda: FixedDelayDense(2, max_delay=4, delays=np.array([[0, -1], [1, 2]])), 'non-negative'),
    (lambda: FixedDelayDense(2, max_delay=2, delays=np.array([[0, 3], [1, 1]])), 'max_delay'),
    (lambda: DelayKernelDense(2, max_delay=0), 'max_delay'),
    (lambda: DCLSDelayDense(2, max_delay=-3), 'max_delay'),
  ],
)
def test_bad_input(build, word):
  with pytest.raises(ConfigurationError, match=word):
    build().init(KEY, jnp.ones((1, 4, 2)))
