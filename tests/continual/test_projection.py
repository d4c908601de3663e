import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common.continual import projection, streams
from common.models.mlp import MLP
from common.train.errors import ConfigurationError


def _orthonormal_rows(k, n, seed=0):
  q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(n, k)))
  return jnp.asarray(q.T, jnp.float32)


def test_projected_update_leaves_old_inputs_untouched():
  basis = _orthonormal_rows(3, 6)  # (k, n_in + 1) for a Dense with 5 inputs
  grads = {'layer': {'kernel': jnp.ones((5, 4)), 'bias': jnp.ones((4,))}, 'other': {'kernel': jnp.ones((2, 2))}}
  tx = projection.project_gradients()
  out, _ = tx.update(grads, tx.init(grads), projection_bases={'layer': basis})
  w = jnp.concatenate([out['layer']['kernel'], out['layer']['bias'][None]])
  # An old-task input x in span(basis) (bias coordinate included) sees no change: x^T dW = 0.
  np.testing.assert_allclose(basis @ w, 0.0, atol=1e-5)
  np.testing.assert_array_equal(out['other']['kernel'], grads['other']['kernel'])
  same, _ = tx.update(grads, tx.init(grads))  # no bases: identity
  np.testing.assert_array_equal(same['layer']['kernel'], grads['layer']['kernel'])


def _low_rank_activity(rows=400, n=12, k=3, seed=0):
  rng = np.random.default_rng(seed)
  true = _orthonormal_rows(k, n, seed)
  x = rng.normal(size=(rows, k)) * np.array([3.0, 2.0, 1.5]) @ np.asarray(true) + 0.01 * rng.normal(size=(rows, n))
  return jnp.asarray(x, jnp.float32), true


def _subspace_error(b, true):
  """|| P_true - P_b ||_F for row bases (0 when the spans match)."""
  return float(jnp.linalg.norm(true.T @ true - b.T @ b))


@pytest.mark.parametrize('learner', [projection.SVDProjection(), projection.HLOP(hebbian_steps=400)])
def test_new_neurons_find_the_principal_subspace(learner):
  x, true = _low_rank_activity()
  basis = jnp.zeros((5, 12))
  new_rows = jnp.arange(5) < 3
  b = learner._grow(basis, new_rows, x, jax.random.PRNGKey(0))
  assert _subspace_error(b[:3], true) < 0.1
  np.testing.assert_array_equal(b[3:], 0.0)


def test_hlop_keeps_old_rows_and_learns_the_residual():
  x, true = _low_rank_activity()
  old = true[:1]
  basis = jnp.zeros((4, 12)).at[0].set(old[0])
  b = projection.HLOP(hebbian_steps=400)._grow(basis, jnp.array([False, True, True, False]), x, jax.random.PRNGKey(1))
  np.testing.assert_array_equal(b[0], old[0])
  assert _subspace_error(b[:3], true) < 0.15


def test_subspace_larger_than_layer_fails_at_setup(toy):
  model = MLP(hidden=(8,), out=4)
  params = model.init(jax.random.PRNGKey(0), toy.train['inputs'][:2])['params']
  stream = streams.permuted_stream(toy, num_tasks=2)
  with pytest.raises(ConfigurationError, match='subspace_size.*larger than the layer'):
    projection.HLOP(subspace_size=(4, 20)).init(params, stream, jax.random.PRNGKey(0))
  with pytest.raises(ConfigurationError, match='one per layer'):
    projection.SVDProjection(subspace_size=(4, 4, 4)).init(params, stream, jax.random.PRNGKey(0))
  state = projection.HLOP(subspace_size=(4, 3), first_task_size=(10, 5)).init(params, stream, jax.random.PRNGKey(0))
  assert state['dense_0']['basis'].shape == (14, 17) and state['head']['basis'].shape == (8, 9)


def test_orthonormal_rows_spans_the_weights():
  w = jnp.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])  # two non-orthogonal rows + an unused one
  b = projection.orthonormal_rows(w)
  np.testing.assert_allclose(b @ b.T, np.diag([1.0, 1.0, 0.0]), atol=1e-5)
  np.testing.assert_allclose(b.T @ b, np.diag([1.0, 1.0, 0.0]), atol=1e-5)
