"""The traced curriculum (projects/emergent_timescales/curriculum_train.py): rule, loss masking, stage advance."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from common.dendritic import leaky_rnn
from common.train import state as state_lib
from common.train.errors import ConfigurationError
from projects.emergent_timescales import curriculum_train as ct
from projects.emergent_timescales.curriculum import Curriculum


@pytest.mark.parametrize('kind', ['single', 'multi'])
def test_stage_learned_matches_host_rule(kind):
  rng = np.random.default_rng(0)
  rule = Curriculum(kind, start_n=2, threshold=0.9)
  for _ in range(40):
    acc = rng.uniform(0.8, 1.0, size=5).astype(np.float32)
    n = int(rng.integers(2, 7))
    active = acc[n - 2 : n - 1] if kind == 'single' else acc[: n - 1]
    got = bool(ct.stage_learned(jnp.asarray(acc), jnp.int32(n), kind, 2, 0.9))
    assert got == rule.learned(active)


def _setup(kind, threshold):
  core = leaky_rnn.LeakyRNN(hidden=4, learn_tau=True)
  model = ct.CurriculumModel(core, kind=kind, start_n=2, n_max=4)
  task = ct.CurriculumTask('parity', kind=kind, start_n=2, n_max=4, batch_size=8, num_eval=8)
  tx = optax.sgd(0.1)
  state = jax.jit(lambda k: state_lib.create_state(state_lib.init_variables(model, task.init_inputs(), k), tx))(
    jax.random.PRNGKey(0)
  )
  return model, task, state, ct.CurriculumStep(model, task, epoch_steps=2, threshold=threshold)


@pytest.mark.parametrize('kind', ['single', 'multi'])
def test_stage_advances_after_an_epoch_and_records_step_and_tau(kind):
  model, task, state, hook = _setup(kind, threshold=0.99)
  batch = task.train_batch({}, jax.random.PRNGKey(1), 0)
  outputs = model.apply({'params': state['params'], **state['model_state']}, batch['inputs'])
  guesses = jnp.argmax(outputs['logits'].reshape(8, task.heads, 2), -1)  # (B, heads)
  batch['targets'] = jnp.broadcast_to(guesses, batch['targets'].shape)  # labels = its answers: accuracy 1
  step = jax.jit(hook)
  state = {**state, 'step': jnp.int32(7)}
  one = step(state, batch, jax.random.PRNGKey(2))
  cur = one['model_state']['curriculum']
  assert int(cur['n']) == 2 and int(cur['count']) == 1  # mid-epoch: no check yet
  two = step({**one, 'step': jnp.int32(8)}, batch, jax.random.PRNGKey(3))['model_state']['curriculum']
  assert int(two['n']) == 3 and int(two['count']) == 0
  np.testing.assert_array_equal(np.asarray(two['learned_at']), [8, -1, -1])
  tau = float(jnp.mean(jnp.maximum(state['params']['net']['core']['tau'], 1.0)))
  np.testing.assert_allclose(float(two['tau_at'][0]), tau, rtol=1e-6)


def test_unreachable_threshold_never_advances():
  _, task, state, hook = _setup('multi', threshold=1.0)
  batch = task.train_batch({}, jax.random.PRNGKey(1), 0)
  for _ in range(4):
    state = jax.jit(hook)(state, batch, jax.random.PRNGKey(0))
  assert int(state['model_state']['curriculum']['n']) == 2


@pytest.mark.parametrize('kind', ['single', 'multi'])
def test_loss_sums_only_the_active_heads(kind):
  task = ct.CurriculumTask('parity', kind=kind, start_n=2, n_max=4, batch_size=8)
  heads = task.heads
  logits = jax.random.normal(jax.random.PRNGKey(0), (8, 2 * heads))
  batch = task.train_batch({}, jax.random.PRNGKey(1), 0)
  loss, metrics = task.loss({'logits': logits, 'n': jnp.int32(3), 'learned_at': jnp.full((3,), -1),
                             'tau_at': jnp.full((3,), -1.0)}, batch)  # fmt: skip
  lg = logits.reshape(8, heads, 2)
  ce = lambda h, i: jnp.mean(optax.softmax_cross_entropy_with_integer_labels(lg[:, h], batch['targets'][:, i]))  # noqa: E731
  want = ce(0, 1) if kind == 'single' else ce(0, 0) + ce(1, 1)  # single: the one head on N = 3; multi: N = 2, 3
  np.testing.assert_allclose(float(loss), float(want), rtol=1e-5)
  assert float(metrics['n']) == 3.0


def test_mismatched_model_and_task_is_a_configuration_error():
  core = leaky_rnn.LeakyRNN(hidden=4)
  with pytest.raises(ConfigurationError, match='KIND'):
    ct.CurriculumStep(ct.CurriculumModel(core, kind='single'), ct.CurriculumTask(kind='multi'))
