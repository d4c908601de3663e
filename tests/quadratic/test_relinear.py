import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from common.models.mlp import MLP
from common.quadratic import QuadraticMLP, relinear_optimizer, scale_updates_by_path
from common.quadratic.neurons import QUADRATIC_PARAM_PATTERN
from common.quadratic.relinear import path_string
from common.train.errors import ConfigurationError

X = jax.random.normal(jax.random.PRNGKey(0), (16, 6))
Y = jax.random.randint(jax.random.PRNGKey(1), (16,), 0, 3)


def _loss(model):
  def loss(params):
    logits = model.apply({'params': params}, X)
    return optax.softmax_cross_entropy_with_integer_labels(logits, Y).mean()

  return loss


def _run(model, tx, params, steps=5):
  opt_state = tx.init(params)
  for _ in range(steps):
    grads = jax.grad(_loss(model))(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    params = optax.apply_updates(params, updates)
  return params


def _is_quadratic(path):
  import re

  return re.search(QUADRATIC_PARAM_PATTERN, path_string(path)) is not None


def test_multiplier_scales_quadratic_updates_exactly():
  model = QuadraticMLP(hidden=(5,), out=3, init_scheme='naive')
  params = model.init(jax.random.PRNGKey(2), X)['params']
  grads = jax.grad(_loss(model))(params)
  full = optax.sgd(0.1)
  tenth = optax.chain(optax.sgd(0.1), scale_updates_by_path([(QUADRATIC_PARAM_PATTERN, 0.1)]))
  u_full, _ = full.update(grads, full.init(params), params)
  u_tenth, _ = tenth.update(grads, tenth.init(params), params)

  def check(path, a, b):
    factor = 0.1 if _is_quadratic(path) else 1.0
    np.testing.assert_allclose(b, factor * a, rtol=1e-6)

  jax.tree_util.tree_map_with_path(check, u_full, u_tenth)
  assert any(_is_quadratic(p) for p, _ in jax.tree_util.tree_flatten_with_path(params)[0])


def test_multiplier_zero_trains_exactly_the_conventional_network():
  # ReLinear init + frozen quadratic parameters == the conventional MLP with the same linear weights.
  qmodel = QuadraticMLP(hidden=(7, 7), out=3)
  qparams = qmodel.init(jax.random.PRNGKey(3), X)['params']
  base = lambda n: optax.adam(1e-2)  # noqa: E731
  qparams = _run(qmodel, relinear_optimizer(10, base=base, quadratic_lr_multiplier=0.0), qparams)

  model = MLP(hidden=(7, 7), out=3)
  init_q = QuadraticMLP(hidden=(7, 7), out=3).init(jax.random.PRNGKey(3), X)['params']
  params = {f'dense_{i}': init_q[f'qdense_{i}']['linear_r'] for i in range(2)} | {'head': init_q['head']}
  params = _run(model, optax.adam(1e-2), params)
  np.testing.assert_allclose(qmodel.apply({'params': qparams}, X), model.apply({'params': params}, X), atol=1e-5)
  np.testing.assert_array_equal(qparams['qdense_0']['quad_g']['bias'], 1.0)


def test_pattern_matching_nothing_fails_at_init():
  params = {'dense': {'kernel': jnp.ones((2, 2))}}
  with pytest.raises(ConfigurationError, match='matches no parameter'):
    scale_updates_by_path([(QUADRATIC_PARAM_PATTERN, 0.1)]).init(params)


def test_negative_multiplier_is_refused():
  with pytest.raises(ConfigurationError, match='quadratic_lr_multiplier'):
    relinear_optimizer(10, base=lambda n: optax.sgd(0.1), quadratic_lr_multiplier=-0.1)


def test_shrinkage_reaches_the_training_loop(tmp_path):
  from common.data.pipeline import ArrayDataset
  from common.train import loop, optim, tasks

  rng = np.random.default_rng(0)
  data = ArrayDataset(
    train={'inputs': rng.normal(size=(32, 4)).astype(np.float32), 'targets': rng.integers(0, 3, 32).astype(np.int32)},
    eval={'inputs': rng.normal(size=(8, 4)).astype(np.float32), 'targets': rng.integers(0, 3, 8).astype(np.int32)},
  )
  model = QuadraticMLP(hidden=(4,), out=3, init_scheme='naive', shrink_g=1.0, shrink_b=1.0)
  opt = lambda n: relinear_optimizer(n, base=optim.create_optimizer, quadratic_lr_multiplier=0.1)  # noqa: E731
  final = loop.train(
    model=model,
    task=tasks.ClassificationTask(data=data, batch_size=8, num_classes=3),
    optimizer=opt,
    num_steps=2,
    seed=0,
    workdir=str(tmp_path),
    log_every=1,
  )
  assert final['step'] == 2
  rows = [r for r in open(tmp_path / 'metrics.jsonl').read().splitlines() if '"train"' in r]
  assert 'aux_loss' in rows[0]
