import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common.continual import learners, regularizers, rehearsal, streams
from common.models.mlp import MLP
from common.train.errors import ConfigurationError


def _setup(toy, num_tasks=3):
  stream = streams.permuted_stream(toy, num_tasks=num_tasks)
  model = MLP(hidden=(8,), out=4)
  params = model.init(jax.random.PRNGKey(0), toy.train['inputs'][:2])['params']
  return stream, model, params


def test_ewc_penalty_is_zero_at_anchor_and_grows_away(toy):
  stream, model, params = _setup(toy)
  ewc = regularizers.EWC(strength=10.0, fisher_examples=16)
  state = ewc.init(params, stream, jax.random.PRNGKey(0))
  end_task = jax.jit(functools.partial(ewc.end_task, model=model))
  arrays = stream.train_arrays()
  state = end_task(state, params=params, model_state={}, arrays=arrays, task=0, key=jax.random.PRNGKey(1))
  assert all(float(jnp.min(f)) >= 0 for f in jax.tree_util.tree_leaves(state['fisher']))
  assert float(sum(jnp.sum(f) for f in jax.tree_util.tree_leaves(state['fisher']))) > 0
  assert float(ewc.penalty(params, state)) == 0.0
  moved = jax.tree_util.tree_map(lambda p: p + 0.1, params)
  assert float(ewc.penalty(moved, state)) > 0.0


def test_si_accumulates_path_and_consolidates(toy):
  stream, model, params = _setup(toy)
  si = regularizers.SI(strength=1.0, damping=0.1)
  state = si.init(params, stream, jax.random.PRNGKey(0))
  grads = jax.tree_util.tree_map(jnp.ones_like, params)
  new = jax.tree_util.tree_map(lambda p: p - 0.1, params)  # a step down the gradient: positive contribution
  state = si.after_step(state, grads, params, new)
  np.testing.assert_allclose(jax.tree_util.tree_leaves(state['path'])[0], 0.1, rtol=1e-5)
  state = si.end_task(state, model=model, params=new, model_state={}, arrays={}, task=0, key=None)
  np.testing.assert_allclose(jax.tree_util.tree_leaves(state['importance'])[0], 0.1 / (0.01 + 0.1), rtol=1e-4)
  assert float(si.penalty(new, state)) == 0.0


def test_schedules():
  lp = rehearsal.schedule_logits('power_law', 1.0, 4, 6)
  p = np.exp(np.asarray(lp))
  np.testing.assert_allclose(p[:4] / p[3], [1 / 4, 1 / 3, 1 / 2, 1.0], rtol=1e-5)
  assert np.all(p[4:] == 0)
  pr = np.exp(np.asarray(rehearsal.schedule_logits('recency', 1.0, 4, 6)))
  assert pr.tolist() == [0, 0, 0, 1, 0, 0]
  pu = np.exp(np.asarray(rehearsal.schedule_logits('uniform', 1.0, 2, 4)))
  assert pu.tolist() == [1, 1, 0, 0]


def test_rehearsal_batch_replays_only_past_tasks(toy):
  stream, _, params = _setup(toy, num_tasks=4)
  r = rehearsal.Rehearsal(schedule='uniform', buffer_per_task=10, replay_per_step=6)
  state = r.init(params, stream, jax.random.PRNGKey(0))
  arrays = stream.train_arrays()
  batch = jax.jit(r.train_batch, static_argnums=(5,))
  b0 = batch(arrays, state, jax.random.PRNGKey(1), 0, 0, 8)
  assert b0['inputs'].shape[0] == 14 and float(b0['weight'][8:].sum()) == 0.0
  b2 = batch(arrays, state, jax.random.PRNGKey(1), 5, 2, 8)
  inputs = stream.train_inputs
  buffered = {tuple(inputs[t, i].ravel()) for t in (0, 1) for i in np.asarray(state['buffer'][t])}
  assert all(tuple(np.asarray(x).ravel()) in buffered for x in b2['inputs'][8:])


def test_joint_samples_every_seen_task(toy):
  stream, _, _ = _setup(toy, num_tasks=3)
  b = learners.Joint().train_batch(stream.train_arrays(), {}, jax.random.PRNGKey(0), 3, 1, 64)
  first = stream.train_inputs[0].reshape(len(stream.train_inputs[0]), -1)
  in_task0 = [any(np.array_equal(x.ravel(), f) for f in first) for x in np.asarray(b['inputs'])]
  assert 0 < sum(in_task0) < 64


def test_bad_learner_configuration(toy):
  with pytest.raises(ConfigurationError, match='replay_per_step=50.*larger than the buffer'):
    rehearsal.Rehearsal(buffer_per_task=20, replay_per_step=50)
  with pytest.raises(ConfigurationError, match='schedule'):
    rehearsal.Rehearsal(schedule='zipf')
  free = streams.permuted_stream(toy, num_tasks=2, boundaries=False)
  with pytest.raises(ConfigurationError, match='learner=EWC.*task boundaries'):
    regularizers.EWC().validate(free)
  learners.Learner().validate(free)  # fine-tuning needs no boundaries
  with pytest.raises(ConfigurationError, match='buffer_per_task=500'):
    rehearsal.Rehearsal(buffer_per_task=500).validate(streams.permuted_stream(toy, num_tasks=2))
