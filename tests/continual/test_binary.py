import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common.continual import binary, streams
from common.train.errors import ConfigurationError


def test_sign_ste_forward_and_gradient():
  w = jnp.array([-0.3, 0.0, 0.2])
  np.testing.assert_array_equal(binary.sign_ste(w), [-1.0, 1.0, 1.0])
  np.testing.assert_array_equal(jax.grad(lambda w: jnp.sum(binary.sign_ste(w) * jnp.arange(3.0)))(w), [0, 1, 2])


def test_metaplastic_attenuates_only_updates_towards_a_flip():
  params = {'l': {'kernel': jnp.array([[2.0, 2.0], [-2.0, 0.0]]), 'bias': jnp.array([5.0, 5.0])}}
  updates = {'l': {'kernel': jnp.array([[-0.1, 0.1], [-0.1, 0.1]]), 'bias': jnp.array([-0.1, -0.1])}}
  tx = binary.metaplastic_scaling(1.0)
  out, _ = tx.update(updates, tx.init(params), params)
  k = np.asarray(out['l']['kernel'])
  assert k[0, 0] == pytest.approx(-0.1 * (1 - np.tanh(2.0) ** 2))  # shrinks |W|: attenuated
  assert k[0, 1] == pytest.approx(0.1) and k[1, 0] == pytest.approx(-0.1)  # grows |W|: untouched
  np.testing.assert_array_equal(out['l']['bias'], updates['l']['bias'])


def test_binary_kl():
  a = jnp.array([0.5, -1.0, 3.0])
  assert float(binary.binary_kl(a, a)) == pytest.approx(0.0, abs=1e-6)
  assert float(binary.binary_kl(a, jnp.zeros(3))) > 0
  # A confident weight (|m| -> 1) costs more to flip than an uncertain one.
  assert float(binary.binary_kl(jnp.array([-0.5]), jnp.array([3.0]))) > float(
    binary.binary_kl(jnp.array([-0.5]), jnp.array([0.5]))
  )


def test_meanfield_layer_samples_in_training_and_is_binary_at_test():
  layer = binary.MeanFieldDense(3, use_bias=False)
  x = jnp.ones((2, 4))
  v = layer.init(jax.random.PRNGKey(0), x)
  theta = v['params']['field']
  np.testing.assert_allclose(layer.apply(v, x), x @ jnp.sign(theta) / 2.0, rtol=1e-6)
  a = layer.apply(v, x, train=True, rngs={'dropout': jax.random.PRNGKey(1)})
  b = layer.apply(v, x, train=True, rngs={'dropout': jax.random.PRNGKey(2)})
  assert not np.allclose(a, b)


def test_variational_needs_fields_and_penalises_moving_from_the_prior():
  mlp = binary.BinaryMLP(hidden=(4,), out=2, kind='meanfield')
  params = mlp.init(jax.random.PRNGKey(0), jnp.ones((1, 3)))['params']
  learner = binary.VariationalBinary(strength=1.0)
  state = learner.init(params, None, None)
  moved = jax.tree_util.tree_map(lambda p: p + 0.5, params)
  assert float(learner.penalty(moved, state)) == 0.0  # no prior before the first task ends
  state = learner.end_task(state, model=None, params=params, model_state={}, arrays={}, task=0, key=None)
  assert float(learner.penalty(params, state)) == pytest.approx(0.0, abs=1e-6)
  assert float(learner.penalty(moved, state)) > 0
  ste = binary.BinaryMLP(hidden=(4,), out=2, kind='ste').init(jax.random.PRNGKey(0), jnp.ones((1, 3)))['params']
  with pytest.raises(ConfigurationError, match="kind='meanfield'"):
    learner.init(ste, None, None)


def test_teacher_student_overlap_and_labels():
  s = streams.teacher_student_stream(num_inputs=400, alpha=1.0, overlap=0.5, num_tasks=3, num_eval=50, seed=0)
  assert s.train_inputs.shape == (3, 400, 400) and s.eval_inputs.shape == (3, 50, 400)
  assert 0.3 < s.train_targets.mean() < 0.7
  with pytest.raises(ConfigurationError, match='overlap=2'):
    streams.teacher_student_stream(overlap=2.0)
