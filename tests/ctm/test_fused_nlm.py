"""The fused NLM kernel (common/ctm/fused_nlm.py, kernels/nlm_cpu.cc) against the same function as XLA ops."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common.ctm import fused_nlm
from tests.ctm.test_ctm import bits, tiny

pytestmark = pytest.mark.skipif(not fused_nlm.available(), reason='the fused NLM kernel did not build (no g++?)')


def _arguments(d: int, m: int, h: int, b: int):
  ks = jax.random.split(jax.random.PRNGKey(d * 1000 + b), 5)
  x = jax.random.normal(ks[0], (d, m, b))
  w1 = jax.random.uniform(ks[1], (d, m, 2 * h), minval=-0.4, maxval=0.4)
  b1 = 0.2 * jax.random.normal(ks[2], (d, 2 * h))
  w2 = jax.random.uniform(ks[3], (d, h, 2), minval=-0.6, maxval=0.6)
  b2 = 0.2 * jax.random.normal(ks[4], (d, 2))
  return x, w1, b1, jnp.float32(1.3), w2, b2, jnp.float32(0.7)


# (D, M, H, B): the parity-16 shape; 2H a multiple of 8 and of 16 (the kernel's blocked paths), odd H, a batch that
# is not a multiple of the kernel's 16 lanes, D not a multiple of its 32-neuron chunks, a batch under one vector.
SHAPES = [(256, 8, 8, 64), (40, 25, 16, 48), (33, 5, 3, 37), (3, 4, 1, 5)]


@pytest.mark.parametrize('shape', SHAPES)
def test_kernel_computes_the_xla_ops_function_and_gradients(shape):
  args = _arguments(*shape)
  np.testing.assert_allclose(jax.jit(fused_nlm.deep_nlm)(*args), fused_nlm._xla_forward(*args), rtol=1e-5, atol=1e-6)
  cot = jax.random.normal(jax.random.PRNGKey(7), (shape[0], shape[3]))

  def grads(f):
    return jax.jit(jax.grad(lambda *a: jnp.sum(f(*a) * cot), argnums=tuple(range(7))))(*args)

  names = ('x', 'w1', 'b1', 't1', 'w2', 'b2', 't2')
  for name, a, b in zip(names, grads(fused_nlm.deep_nlm), grads(fused_nlm._xla_forward)):
    assert float(jnp.abs(b).max()) > 0, name
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * float(jnp.abs(b).max()), err_msg=name)


def test_given_output_has_the_kernel_gradient():
  """given_deep_nlm returns the z it is handed and back-propagates as deep_nlm (history_scan's backward pass)."""
  args = _arguments(33, 5, 3, 37)
  z = fused_nlm.deep_nlm(*args)
  np.testing.assert_array_equal(fused_nlm.given_deep_nlm(*args, z), z)
  g_given = jax.grad(lambda w1: jnp.sum(fused_nlm.given_deep_nlm(args[0], w1, *args[2:], z) ** 2))(args[1])
  g_plain = jax.grad(lambda w1: jnp.sum(fused_nlm.deep_nlm(args[0], w1, *args[2:]) ** 2))(args[1])
  np.testing.assert_allclose(g_given, g_plain, rtol=1e-6, atol=1e-8)


def test_parity_train_step_runs_the_kernel():
  """The CTM's training scan calls the kernel (forward and backward), not the XLA ops."""
  model = tiny()
  x = bits(4)
  variables = model.init(jax.random.PRNGKey(0), x)
  loss = lambda p: jnp.sum(model.apply({**variables, 'params': p}, x)['predictions'])  # noqa: E731
  hlo = jax.jit(jax.grad(loss)).lower(variables['params']).as_text()
  assert fused_nlm.FORWARD in hlo and fused_nlm.BACKWARD in hlo
