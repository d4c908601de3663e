import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common.homeostatic import need
from common.homeostatic.need import NeedRegulation, regulate
from common.train.errors import ConfigurationError

# A stub learner whose logits ignore the input: class 0 wins on the memory iff the simulated step exceeds 0.25.
APPLY = lambda p, x: jnp.broadcast_to(p['b'], (x.shape[0], 2))  # noqa: E731
PARAMS = {'b': jnp.array([0.0, 0.5])}
GRAD = {'b': jnp.array([-1.0, 1.0])}  # b - lr * g = [lr, 0.5 - lr]
MEM_X, MEM_Y = jnp.zeros((4, 1)), jnp.zeros((4,), jnp.int32)
REG = NeedRegulation(num_classes=2, valence=(-1, 1), lr_init=0.2, lr_step=0.1, memory=4)


def _regulate(reg, eta, guess, label, decide=True, key=0):
  return regulate(
      reg, APPLY, PARAMS, jnp.float32(eta), GRAD, jnp.int32(guess), jnp.int32(label), MEM_X, MEM_Y,
      jnp.asarray(decide), 1, jax.random.PRNGKey(key),
  )  # fmt: skip


def test_take_when_simulation_scores_higher_and_move_by_true_label():
  # Guess 1 (excitatory): "take it" simulates lr 0.3 > 0.25 -> memory accuracy 1 > 0 -> taken.
  eta, took = _regulate(REG, 0.2, guess=1, label=1)
  assert bool(took) and np.isclose(eta, 0.3)
  # Same guess but the true class inhibits: the change follows the truth (skin in the game).
  eta, took = _regulate(REG, 0.2, guess=1, label=0)
  assert bool(took) and np.isclose(eta, 0.1)


def test_leave_when_simulation_is_not_better():
  eta, took = _regulate(REG, 0.2, guess=0, label=1)  # simulates lr 0.1 < 0.25: no better -> leave
  assert not bool(took) and np.isclose(eta, 0.2)
  eta, took = _regulate(REG, 0.2, guess=1, label=1, decide=False)
  assert not bool(took) and np.isclose(eta, 0.2)


def test_random_and_constant_baselines():
  rand = NeedRegulation(mode='random', num_classes=2, valence=(-1, 1), lr_init=0.05, lr_step=0.1, lr_floor=1e-6)
  outs = [_regulate(rand, 0.05, guess=1, label=0, key=k) for k in range(40)]
  taken = [bool(t) for _, t in outs]
  assert 5 < sum(taken) < 35
  for eta, t in outs:  # a take drives eta below zero: reset to the floor
    np.testing.assert_allclose(eta, 1e-6 if t else 0.05, rtol=1e-5)
  const = NeedRegulation(mode='constant', num_classes=2, valence=(-1, 1), lr_init=0.2, lr_step=0.1)
  eta, took = _regulate(const, 0.2, guess=1, label=1)
  assert not bool(took) and np.isclose(eta, 0.2)


def test_default_valence_is_the_authors_split():
  assert NeedRegulation().valence == (-1,) * 5 + (1,) * 5
  assert NeedRegulation(num_classes=3, valence={0: 1, 1: 0, 2: -1}).valence == (1, 0, -1)


@pytest.mark.parametrize(
  'kwargs, word',
  [
    ({'valence': {0: 1, 1: -1}}, 'misses classes'),
    ({'valence': (1, -1, 1)}, 'valence'),
    ({'valence': (2,) * 10}, 'valence'),
    ({'lr_init': 0.0}, 'lr_init'),
    ({'lr_floor': -1e-8}, 'lr_floor'),
    ({'lr_step': -0.1}, 'lr_step'),
    ({'mode': 'greedy'}, 'mode'),
  ],
)
def test_bad_configuration_names_the_parameter(kwargs, word):
  with pytest.raises(ConfigurationError, match=word):
    NeedRegulation(**kwargs)


def test_per_sample_grads_match_batch_gradient():
  import optax

  apply = lambda p, x: x @ p['w']  # noqa: E731
  p = {'w': jax.random.normal(jax.random.PRNGKey(0), (3, 4))}
  x, y = jax.random.normal(jax.random.PRNGKey(1), (5, 3)), jnp.arange(5) % 4
  g = need.per_sample_grads(apply, p, x, y)
  full = jax.grad(lambda q: optax.softmax_cross_entropy_with_integer_labels(apply(q, x), y).mean())(p)
  np.testing.assert_allclose(g['w'].mean(0), full['w'], rtol=1e-5, atol=1e-6)
