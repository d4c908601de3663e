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


def _interleaved_setup(toy, **kw):
  """An MLP whose dense_0 sees 16 pixels (+ bias); HLOP with (4, 2) neurons for task 0 and 2 more per task."""
  model = MLP(hidden=(8,), out=4)
  params = model.init(jax.random.PRNGKey(0), toy.train['inputs'][:2])['params']
  stream = streams.permuted_stream(toy, num_tasks=3)
  learner = projection.HLOP(subspace_size=2, first_task_size=(4, 2), **kw)
  return model, params, learner, learner.init(params, stream, jax.random.PRNGKey(0))


def _low_rank_images(key, directions, scales, rows=64):
  """(rows, 4, 4, 1) inputs whose 16 pixels lie in span(directions) (k, 16), per-direction std `scales`."""
  z = jax.random.normal(key, (rows, len(scales))) * jnp.asarray(scales)
  return (z @ directions).reshape(rows, 4, 4, 1)


def _observe(learner, model, params, state, directions, scales, batches, seed=0):
  step = jax.jit(
    lambda s, x: learner.observe_batch(s, model=model, params=params, model_state={}, batch={'inputs': x}, task=0)
  )
  for i in range(batches):
    state = step(state, _low_rank_images(jax.random.PRNGKey(seed * 1000 + i), directions, scales))
  return state


def test_interleaved_hlop_learns_during_batches_and_freezes_old_neurons(toy):
  """The paper's schedule: Oja updates on each training batch; at a task's end its neurons freeze and project."""
  assert projection.HLOP().hebbian_schedule == 'interleaved' and projection.HLOP().projector == 'orthonormal'
  model, params, learner, state = _interleaved_setup(toy, projector='raw')
  s0 = state['dense_0']
  assert int(s0['active']) == 4 and int(s0['count']) == 0
  np.testing.assert_array_equal(s0['basis'], 0.0)  # task 0 trains unprojected
  dirs = _orthonormal_rows(6, 16, seed=3)
  state = _observe(learner, model, params, state, dirs[:3], [3.0, 2.0, 1.5], batches=150)
  h = state['dense_0']['weights']
  # The 4 task-0 neurons span the principal subspace of [x, 1]: the 3 directions and the bias input.
  true = jnp.concatenate([jnp.pad(dirs[:3], ((0, 0), (0, 1))), jnp.eye(17)[16:]])
  assert _subspace_error(projection.orthonormal_rows(h[:4]), true) < 0.15
  np.testing.assert_array_equal(h[4:], 0.0)  # later tasks' neurons do not exist yet
  # Task boundary: the 4 rows freeze and become the (raw) projection basis; 2 new rows are initialised.
  state = learner.end_task(
    state, model=model, params=params, model_state={}, arrays={}, task=0, key=jax.random.PRNGKey(5)
  )
  s0 = state['dense_0']
  assert int(s0['count']) == 4 and int(s0['active']) == 6
  np.testing.assert_array_equal(s0['basis'][:4], h[:4])
  eig = projection.projector_eigenvalues(s0['basis'])
  assert 0.8 < float(eig[3]) and float(eig[0]) < 1.2 and float(eig[4]) < 1e-6  # H^T H close to a projector
  # Task 1's activity: one old direction plus two new ones. Old rows do not move; new rows learn the residual.
  state = _observe(learner, model, params, state, dirs[2:5], [2.0, 2.0, 1.5], batches=150, seed=1)
  h1 = state['dense_0']['weights']
  np.testing.assert_array_equal(h1[:4], h[:4])
  assert float(jnp.max(jnp.abs(h1[:4] @ h1[4:6].T))) < 0.15  # decorrelated from the frozen block
  eig = projection.projector_eigenvalues(h1[:6])
  assert float(eig[0]) < 1.25 and float(eig[5]) > 0.75
  true = jnp.pad(dirs[:5], ((0, 0), (0, 1)))
  assert _subspace_error(projection.orthonormal_rows(h1[:6]), jnp.concatenate([true, jnp.eye(17)[16:]])) < 0.25


def test_projection_options_and_after_task_schedule(toy):
  model, params, learner, state = _interleaved_setup(toy, hebbian_schedule='after_task', projector='orthonormal')
  assert 'active' not in state['dense_0']  # the after-task schedule grows neurons at task ends only
  same = learner.observe_batch(state, model=model, params=params, model_state={}, batch={}, task=0)
  assert same is state
  w = jnp.array([[2.0, 0.0, 0.0], [0.0, 0.5, 0.0], [1.0, 1.0, 0.0]])
  raw = projection.projector_basis(w, 2, 'raw')
  np.testing.assert_array_equal(raw, jnp.array([[2.0, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 0.0]]))
  np.testing.assert_allclose(projection.projector_eigenvalues(raw), [4.0, 0.25, 0.0], atol=1e-6)
  ortho = projection.projector_basis(w, 2, 'orthonormal')
  np.testing.assert_allclose(ortho.T @ ortho, np.diag([1.0, 1.0, 0.0]), atol=1e-6)
  for bad, match in (
    (dict(hebbian_schedule='during'), 'hebbian_schedule'),
    (dict(projector='exact'), 'projector'),
    (dict(hebbian_iterations=0), 'hebbian_iterations=0'),
    (dict(clip=0.0), 'clip=0.0'),
  ):
    with pytest.raises(ConfigurationError, match=match):
      projection.HLOP(**bad)
