import jax
import numpy as np
import pytest

from common.continual import streams
from common.train.errors import ConfigurationError


def test_permuted_is_deterministic_per_seed_and_permutes(toy):
  a = streams.permuted_stream(toy, num_tasks=3, seed=1)
  b = streams.permuted_stream(toy, num_tasks=3, seed=1)
  c = streams.permuted_stream(toy, num_tasks=3, seed=2)
  np.testing.assert_array_equal(a.train_inputs, b.train_inputs)
  assert not np.array_equal(a.train_inputs[1], c.train_inputs[1])
  np.testing.assert_array_equal(a.train_inputs[0], toy.train['inputs'])  # task 0 is unpermuted
  flat = lambda x: np.sort(x.reshape(len(x), -1), axis=1)  # noqa: E731
  np.testing.assert_array_equal(flat(a.train_inputs[2]), flat(toy.train['inputs']))  # same pixels, new places
  assert not np.array_equal(a.train_inputs[2], toy.train['inputs'])
  assert a.class_masks.all() and a.scenario == 'domain'


def test_rotated_zero_angle_is_identity(toy):
  s = streams.rotated_stream(toy, num_tasks=2, angles=(0.0, 90.0))
  np.testing.assert_allclose(s.eval_inputs[0], toy.eval['inputs'], atol=1e-6)
  rotated = np.rot90(toy.eval['inputs'][:, :, :, 0], axes=(1, 2))
  np.testing.assert_allclose(s.eval_inputs[1][:, :, :, 0], rotated, atol=1e-5)


def test_split_task_and_class_incremental(toy):
  ti = streams.split_stream(toy, num_tasks=2, scenario='task')
  ci = streams.split_stream(toy, num_tasks=2, scenario='class')
  assert ti.class_masks.tolist() == [[True, True, False, False], [False, False, True, True]]
  assert ci.class_masks.all()
  assert set(ti.task_data(1)['targets'].tolist()) == {2, 3}


def test_batches_never_draw_padding_and_repeat_per_step(toy):
  # Unequal task sizes: task 1 keeps a third of its examples, the rest is padding (targets 0).
  s = streams.split_stream(toy, num_tasks=2)
  arrays = s.train_arrays()
  arrays['counts'] = np.array([48, 16], np.int32)
  key = jax.random.PRNGKey(0)
  seen = set()
  for step in range(6):
    b = streams.sample_task_batch(arrays, key, step, 1, 8)
    seen |= set(np.asarray(b['targets']).tolist())
    again = streams.sample_task_batch(arrays, key, step, 1, 8)
    np.testing.assert_array_equal(b['inputs'], again['inputs'])
  assert seen <= {2, 3}


@pytest.mark.parametrize('make', [streams.permuted_stream, streams.rotated_stream, streams.split_stream])
def test_zero_tasks_fails_naming_the_parameter(toy, make):
  with pytest.raises(ConfigurationError, match='num_tasks=0'):
    make(toy, num_tasks=0)
