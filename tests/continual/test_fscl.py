"""Few-shot continual learning: the few-shot stream, the fast/slow learner's rules against NumPy transcriptions, the
held-out probe's SGD against NumPy, and the learner inside trainer.train (tiny)."""

import functools
import json

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from common.continual import few_shot, fscl, trainer
from common.models.mlp import MLP
from common.train.errors import ConfigurationError
from tests.continual.conftest import toy_dataset


def _stream(**kw):
  args = dict(num_tasks=2, ways=2, shots=5, held_out_classes=2, probe_episodes=3, seed=0)
  return few_shot.few_shot_stream(toy_dataset(num_classes=6, per_class=12), **{**args, **kw})


def test_few_shot_stream_shapes_and_held_out_classes():
  s = _stream()
  assert s.train_inputs.shape == (2, 10, 4, 4, 1) and list(s.train_counts) == [10, 10]
  assert s.scenario == 'task' and s.class_masks.sum(1).tolist() == [2, 2]
  for t in range(2):  # shots per class, and only the task's classes
    y = s.train_targets[t]
    assert sorted(np.bincount(y, minlength=6)[s.class_masks[t]].tolist()) == [5, 5]
  trained = set(np.flatnonzero(s.class_masks.any(0)))
  held = set(np.flatnonzero(s.probe_masks.any(0)))
  assert len(held) == 2 and not trained & held
  assert s.probe_support_inputs.shape == (3, 10, 4, 4, 1)
  assert set(np.unique(s.probe_support_targets)) == held
  q = s.probe_query_weight.sum(1)
  assert np.all(q == 12)  # every eval example of the two held-out classes (6 per class)


def test_few_shot_stream_bad_sizes():
  with pytest.raises(ConfigurationError, match='exceeds the 6 classes'):
    _stream(num_tasks=3)
  with pytest.raises(ConfigurationError, match='shots=13 but class'):
    _stream(shots=13)


class _Linear(nn.Module):
  classes: int

  @nn.compact
  def __call__(self, x, train=False):
    return nn.Dense(self.classes, name='dense')(x)


def _params(seed=0):
  rng = np.random.default_rng(seed)
  return {'w': jnp.asarray(rng.normal(size=(3, 2)), jnp.float32), 'b': jnp.asarray(rng.normal(size=(2,)), jnp.float32)}


def test_fast_slow_penalty_and_slow_consolidation_match_numpy(monkeypatch):
  learner = fscl.FastSlow(strength=4.0, decay=0.5, fisher_examples=8, slow_rate=0.25)
  theta0, theta1 = _params(0), _params(1)
  state = learner.init(theta0, None, None)
  state = {**state, 'fisher': jax.tree_util.tree_map(lambda p: jnp.abs(p) + 0.5, _params(2))}
  # Step 1 (metaplastic penalty): lambda/2 sum Omega (theta - theta*)^2.
  want = 0.5 * 4.0 * sum(np.sum(np.asarray(state['fisher'][k]) * (np.asarray(theta1[k]) - np.asarray(theta0[k])) ** 2)
                         for k in theta0)  # fmt: skip
  np.testing.assert_allclose(float(learner.penalty(theta1, state)), want, rtol=1e-5)
  # Step 2 (slow consolidation) at the end of a task; EWC's Fisher replaced by a fixed one to isolate the rule.
  fisher = jax.tree_util.tree_map(jnp.ones_like, theta0)
  monkeypatch.setattr(fscl.EWC, 'end_task', lambda self, state, **kw: {'anchor': kw['params'], 'fisher': fisher})
  new = learner.end_task(state, model=None, params=theta1, model_state={}, arrays=None, task=0, key=None)
  for k in theta0:
    want_slow = np.asarray(theta0[k]) + 0.25 * (np.asarray(theta1[k]) - np.asarray(theta0[k]))
    np.testing.assert_allclose(new['slow'][k], want_slow, rtol=1e-6)
    np.testing.assert_array_equal(new['anchor'][k], theta1[k])
  assert bool(new['restart'])
  assert learner.generalization_params(new, theta1) is new['slow']
  assert not bool(learner.after_step(new, None, None, None)['restart'])


def test_mas_importance_matches_numpy():
  """output_sensitivity of a linear model: mean over examples of |2 x (mask * (x W + b))^T| (and |2 mask * f| for b)."""
  rng = np.random.default_rng(0)
  x = rng.normal(size=(5, 3)).astype(np.float32)
  mask = np.array([[True, False, True, False]] * 5)
  model = _Linear(4)
  params = model.init(jax.random.PRNGKey(0), x)['params']
  got = fscl.output_sensitivity(model, params, {}, {'inputs': jnp.asarray(x), 'mask': jnp.asarray(mask)})
  w, b = (np.asarray(params['dense'][k], np.float64) for k in ('kernel', 'bias'))
  f = np.where(mask, x @ w + b, 0.0)
  want_w = np.mean(np.abs(2 * x[:, :, None] * f[:, None, :]), axis=0)
  np.testing.assert_allclose(got['dense']['kernel'], want_w, rtol=1e-5)
  np.testing.assert_allclose(got['dense']['bias'], np.mean(np.abs(2 * f), axis=0), rtol=1e-5)


def test_fast_restart_moves_the_weights_onto_the_slow_ones_once():
  tx = optax.chain(optax.sgd(0.1), fscl.fast_restart())
  params, target = _params(0), _params(3)
  grads = jax.tree_util.tree_map(jnp.ones_like, params)
  opt_state = tx.init(params)
  updates, _ = tx.update(grads, opt_state, params, fast_restart=(jnp.asarray(True), target))
  jax.tree_util.tree_map(
    lambda p, t: np.testing.assert_allclose(p, t, rtol=1e-6), optax.apply_updates(params, updates), target
  )
  updates, _ = tx.update(grads, opt_state, params, fast_restart=(jnp.asarray(False), target))
  jax.tree_util.tree_map(lambda u: np.testing.assert_allclose(u, -0.1, rtol=1e-6), updates)


def test_probe_sgd_matches_numpy():
  """few_shot_adapt_accuracy on a linear softmax model against a NumPy transcription of masked-CE SGD."""
  rng = np.random.default_rng(0)
  c, d, n, q, steps, lr = 4, 5, 6, 8, 7, 0.5
  mask = np.array([True, False, True, False])
  episode = {
    'support_inputs': rng.normal(size=(n, d)).astype(np.float32),
    'support_targets': rng.choice([0, 2], n).astype(np.int32),
    'query_inputs': rng.normal(size=(q, d)).astype(np.float32),
    'query_targets': rng.choice([0, 2], q).astype(np.int32),
    'query_weight': np.array([1] * 6 + [0] * 2, np.float32),
    'masks': mask,
  }
  model = _Linear(c)
  params = model.init(jax.random.PRNGKey(0), episode['support_inputs'])['params']
  got = few_shot.few_shot_adapt_accuracy(
    model, params, {}, jax.tree_util.tree_map(jnp.asarray, episode), steps=steps, learning_rate=lr
  )
  w, b = (np.asarray(params['dense'][k], np.float64) for k in ('kernel', 'bias'))
  x, y = episode['support_inputs'].astype(np.float64), episode['support_targets']
  onehot = np.eye(c)[y]
  for _ in range(steps):
    logits = np.where(mask, x @ w + b, -1e9)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    delta = (p - onehot) / n
    w, b = w - lr * x.T @ delta, b - lr * delta.sum(0)
  pred = np.argmax(np.where(mask, episode['query_inputs'] @ w + b, -1e9), 1)
  want = np.sum((pred == episode['query_targets']) * episode['query_weight']) / 6
  np.testing.assert_allclose(float(got), want, rtol=1e-6)


def test_fast_slow_in_the_continual_trainer(tmp_path):
  stream = _stream()
  learner = few_shot.FewShotProbe(
    learner=fscl.FastSlow(strength=10.0, fisher_examples=8, slow_rate=0.5, importance='mas'),
    steps=3,
    learning_rate=0.1,
  )
  final = trainer.train(
    model=MLP(hidden=(8,), out=6),
    stream=stream,
    learner=learner,
    optimizer=functools.partial(lambda n: optax.adam(1e-2)),
    steps_per_task=4,
    seed=0,
    workdir=str(tmp_path),
    batch_size=5,
    log_every=2,
  )
  assert 0.0 <= final['acc'] <= 1.0 and len(final['final_accuracies']) == 2
  rows = [json.loads(line) for line in open(tmp_path / 'metrics.jsonl')]
  evals = [r for r in rows if r.get('split') == 'eval']
  assert len(evals) == 2
  assert all(0.0 <= r['few_shot_accuracy'] <= 1.0 and r['slow_fast_distance'] > 0 for r in evals)


def test_probe_refuses_a_stream_without_episodes(toy):
  from common.continual import streams

  with pytest.raises(ConfigurationError, match='FewShotProbe needs held-out episodes'):
    few_shot.FewShotProbe().validate(streams.permuted_stream(toy, num_tasks=2))
