"""Dynamic sparse training: the prune-and-regrow round against a NumPy transcription, the Hebbian statistics
against NumPy, connection counts kept, and the hook inside common.train.loop.train (including bitwise resume)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common.data.pipeline import ArrayDataset
from common.sparsity import dst, layers, models
from common.train import checkpoint, loop, optim, tasks
from common.train import state as state_lib
from common.train.errors import ConfigurationError


def _numpy_rewire(mask, kernel, grow_score, n):
  """Transcription: drop the n active weights of smallest |w|, grow the n best-scored previously inactive ones."""
  m = mask.reshape(-1) > 0
  w = kernel.reshape(-1).copy()
  active = np.flatnonzero(m)
  drop = active[np.argsort(np.abs(w[active]), kind='stable')[:n]]
  inactive = np.flatnonzero(~m)
  grow = inactive[np.argsort(-grow_score.reshape(-1)[inactive], kind='stable')[:n]]
  new = m.copy()
  new[drop] = False
  new[grow] = True
  w[drop] = 0.0
  w[grow] = 0.0
  return new.reshape(mask.shape).astype(np.float32), w.reshape(kernel.shape)


@pytest.mark.parametrize('n', [0, 1, 7])
def test_rewire_layer_matches_numpy(n):
  rng = np.random.default_rng(n)
  mask = (rng.random((6, 5)) < 0.5).astype(np.float32)
  kernel = rng.normal(size=(6, 5)).astype(np.float32)
  score = rng.random((6, 5)).astype(np.float32)
  n = min(n, int(mask.sum()), int((1 - mask).sum()))
  new_mask, new_kernel = jax.jit(dst.rewire_layer)(mask, kernel, score, jnp.int32(n))
  want_mask, want_kernel = _numpy_rewire(mask, kernel, score, n)
  np.testing.assert_array_equal(new_mask, want_mask)
  np.testing.assert_array_equal(new_kernel, want_kernel)
  assert new_mask.sum() == mask.sum()
  if n:
    assert not np.array_equal(np.asarray(new_mask), mask)


def test_correlation_statistics_match_numpy():
  rng = np.random.default_rng(0)
  decay = 0.9
  stats = layers.init_correlation_stats(3, 2)
  batches = [(rng.normal(size=(16, 3)), rng.normal(size=(16, 2))) for _ in range(4)]
  # A correlated pair: post 0 follows pre 1.
  batches = [(x, np.stack([x[:, 1] + 0.1 * y[:, 0], y[:, 1]], 1)) for x, y in batches]
  for x, y in batches:
    stats = layers.update_correlation_stats(stats, jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32), decay)
  got = np.asarray(layers.correlation(stats, decay))
  # Transcription: bias-corrected exponentially weighted moments, then Pearson's formula.
  weights = np.array([(1 - decay) * decay ** (len(batches) - 1 - i) for i in range(len(batches))])
  weights /= weights.sum()
  ex = sum(w * x.mean(0) for w, (x, _) in zip(weights, batches))
  ey = sum(w * y.mean(0) for w, (_, y) in zip(weights, batches))
  exx = sum(w * (x**2).mean(0) for w, (x, _) in zip(weights, batches))
  eyy = sum(w * (y**2).mean(0) for w, (_, y) in zip(weights, batches))
  exy = sum(w * x.T @ y / len(x) for w, (x, y) in zip(weights, batches))
  want = (exy - np.outer(ex, ey)) / np.sqrt(np.outer(exx - ex**2, eyy - ey**2))
  np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
  assert got[1, 0] > 0.95


def test_masked_dense_forward_gradient_and_collections():
  model = layers.MaskedDense(16, sparsity=0.75, topology='g2g', num_ensembles=4, track_correlations=True)
  x = jax.random.normal(jax.random.PRNGKey(1), (4, 8))
  variables = model.init(jax.random.PRNGKey(0), x)
  assert set(variables) == {'params', 'masks', 'hebbian'}
  mask = variables['masks']['kernel']
  kernel, bias = variables['params']['kernel'], variables['params']['bias']
  np.testing.assert_allclose(model.apply(variables, x), x @ (kernel * mask) + bias, rtol=1e-5)
  grads = jax.grad(lambda p: jnp.sum(model.apply({**variables, 'params': p}, x) ** 2))(variables['params'])
  assert float(jnp.max(jnp.abs(grads['kernel'] * (1 - mask)))) == 0.0
  _, updated = model.apply(variables, x, train=True, mutable=['hebbian'])
  assert int(updated['hebbian']['stats']['count']) == 1
  # Evaluation leaves the statistics alone (the collection is not mutable there).
  model.apply(variables, x, train=False)


def _toy_task(batch_size=8):
  rng = np.random.default_rng(0)
  protos = rng.random((4, 16)).astype(np.float32)

  def split(n):
    y = np.repeat(np.arange(4), n).astype(np.int32)
    return {'inputs': protos[y] + 0.1 * rng.normal(size=(len(y), 16)).astype(np.float32), 'targets': y}

  return tasks.ClassificationTask(ArrayDataset(split(16), split(4)), batch_size=batch_size, num_classes=4)


def _train(workdir, num_steps, hook, model):
  return loop.train(
    model=model,
    task=_toy_task(),
    optimizer=lambda n: optim.create_optimizer(n, name='adam', learning_rate=1e-2),
    num_steps=num_steps,
    seed=0,
    workdir=str(workdir),
    log_every=2,
    eval_every=100,
    checkpoint_every=2,
    after_step=hook,
  )


def _saved_state(workdir, model, step=None):
  """The train state checkpointed at `step` (default: the last), through checkpoint.restore_params."""
  tx = optim.create_optimizer(1, name='adam', learning_rate=1e-2)
  like = state_lib.create_state(state_lib.init_variables(model, _toy_task().init_inputs(), jax.random.PRNGKey(0)), tx)
  return checkpoint.restore_params(str(workdir), like, step)


def test_dst_hook_in_the_loop_keeps_counts_and_resumes_bitwise(tmp_path):
  model = models.SparseMLP(
    hidden=(16, 16), out=4, sparsity=0.5, topology='g2g', num_ensembles=4, track_correlations=True
  )
  hook = dst.DynamicSparsity(every=2, drop_fraction=0.3, schedule='constant', regrow='hebbian')
  _train(tmp_path / 'straight', 6, hook, model)
  _train(tmp_path / 'resumed', 4, hook, model)
  _train(tmp_path / 'resumed', 6, hook, model)
  straight, resumed = _saved_state(tmp_path / 'straight', model), _saved_state(tmp_path / 'resumed', model)
  early = _saved_state(tmp_path / 'straight', model, step=2)
  for layer in ('dense_0', 'dense_1'):
    first = np.asarray(early['model_state']['masks'][layer]['kernel'])
    final = np.asarray(straight['model_state']['masks'][layer]['kernel'])
    assert final.sum() == first.sum() == 0.5 * final.size  # the count never changes
    assert not np.array_equal(first, final)  # the rounds at steps 4 and 6 moved connections
  assert int(straight['model_state']['hebbian']['dense_0']['stats']['count']) == 6
  for part in ('params', 'model_state'):
    jax.tree_util.tree_map(np.testing.assert_array_equal, straight[part], resumed[part])


def test_dst_rewires_and_random_regrowth(tmp_path):
  model = models.SparseMLP(hidden=(16,), out=4, sparsity=0.75, topology='random')
  task = _toy_task()
  variables = model.init(jax.random.PRNGKey(0), task.init_inputs())
  state = {'step': jnp.int32(2), 'params': variables['params'], 'model_state': {'masks': variables['masks']}}
  hook = dst.DynamicSparsity(every=2, drop_fraction=0.5, schedule='constant', regrow='random')
  new = jax.jit(hook)(state, None, jax.random.PRNGKey(5))
  old_m, new_m = state['model_state']['masks']['dense_0']['kernel'], new['model_state']['masks']['dense_0']['kernel']
  assert float(new_m.sum()) == float(old_m.sum())
  moved = float(jnp.sum(new_m * (1 - old_m)))
  assert moved == np.floor(0.5 * float(old_m.sum()))
  # Off-round steps change nothing.
  off = jax.jit(hook)({**state, 'step': jnp.int32(3)}, None, jax.random.PRNGKey(5))
  np.testing.assert_array_equal(off['model_state']['masks']['dense_0']['kernel'], old_m)


def test_cosine_schedule_and_bad_configuration():
  hook = dst.DynamicSparsity(every=10, drop_fraction=0.4, schedule='cosine', end_step=100)
  assert float(hook.fraction(jnp.int32(0))) == pytest.approx(0.4)
  assert float(hook.fraction(jnp.int32(50))) == pytest.approx(0.2)
  assert float(hook.fraction(jnp.int32(100))) == pytest.approx(0.0, abs=1e-7)
  assert not bool(hook.is_round(jnp.int32(110)))
  with pytest.raises(ConfigurationError, match='end_step'):
    dst.DynamicSparsity(schedule='cosine')
  with pytest.raises(ConfigurationError, match="regrow='hebbian' needs co-activity"):
    model = models.SparseMLP(hidden=(16,), out=4, sparsity=0.5, topology='random')
    v = model.init(jax.random.PRNGKey(0), jnp.zeros((2, 16)))
    dst.DynamicSparsity(every=1, schedule='constant', regrow='hebbian')(
      {'step': jnp.int32(1), 'params': v['params'], 'model_state': {'masks': v['masks']}}, None, jax.random.PRNGKey(0)
    )
