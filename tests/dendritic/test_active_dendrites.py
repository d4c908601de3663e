"""Active dendrites, k-winners with duty cycles, fixed sparse weights."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common.dendritic import ActiveDendritesDense, DendriticMLP, KWinners, SparseDense, gate
from common.train.errors import ConfigurationError

KEY = jax.random.PRNGKey(0)


def test_absolute_max_gating_picks_largest_magnitude():
  yhat = jnp.array([[2.0, -1.0]])
  d = jnp.array([[[0.5, -3.0, 1.0], [0.2, 0.1, -0.05]]])
  out = gate(yhat, d, 'absolute_max')
  np.testing.assert_allclose(out, [[2.0 * jax.nn.sigmoid(-3.0), -1.0 * jax.nn.sigmoid(0.2)]], rtol=1e-6)
  np.testing.assert_allclose(gate(yhat, d, 'max')[0, 0], 2.0 * jax.nn.sigmoid(1.0), rtol=1e-6)


def test_only_selected_segment_gets_gradient():
  layer = ActiveDendritesDense(features=3, num_segments=4, context_dim=5)
  x, c = jax.random.normal(KEY, (1, 6)), jax.random.normal(jax.random.PRNGKey(1), (1, 5))
  v = layer.init(KEY, x, c)
  g = jax.grad(lambda p: layer.apply({'params': p}, x, c).sum())(v['params'])['segments']['segments']
  nonzero_segments = np.sum(np.any(np.asarray(g) != 0, axis=-1), axis=-1)
  np.testing.assert_array_equal(nonzero_segments, [1, 1, 1])


def test_kwinners_keeps_exactly_k_values():
  x = jax.random.normal(KEY, (4, 20))
  layer = KWinners(k=3, boost_strength=0.0)
  v = layer.init(KEY, x)
  y = layer.apply(v, x)
  np.testing.assert_array_equal(np.sum(y != 0, -1), [3, 3, 3, 3])
  kept = np.asarray(y) != 0
  np.testing.assert_allclose(np.asarray(y)[kept], np.asarray(x)[kept])
  assert np.all(np.sort(np.asarray(x), -1)[:, -3:] == np.sort(np.where(kept, np.asarray(x), -np.inf), -1)[:, -3:])


def test_duty_cycle_update_follows_numenta_and_boosting_changes_winners():
  x = jnp.tile(jnp.arange(1.0, 9.0)[None], (2, 1))  # units 6 and 7 always win without boosting
  layer = KWinners(k=2, boost_strength=10.0, duty_cycle_period=4)
  v = layer.init(KEY, x)
  y, upd = layer.apply(v, x, train=True, mutable=['duty_cycles'])
  duty = np.asarray(upd['duty_cycles']['duty_cycle'])
  # period = min(4, 2) = 2; duty = (0 * 0 + 2 wins) / 2 = 1 for the winners.
  np.testing.assert_allclose(duty, [0] * 6 + [1, 1])
  y2, upd2 = layer.apply({**v, **upd}, x, train=True, mutable=['duty_cycles'])
  # Boosting with the winners' duty at 1 now favours other units.
  assert not np.array_equal(np.asarray(y2) != 0, np.asarray(y) != 0)
  # period = min(4, 4) = 4: duty = (duty * 2 + wins) / 4
  wins2 = np.sum(np.asarray(y2) > 0, 0)
  np.testing.assert_allclose(upd2['duty_cycles']['duty_cycle'], (duty * 2 + wins2) / 4, rtol=1e-6)
  # Eval leaves the duty cycles unchanged (not mutable) and does not error.
  layer.apply({**v, **upd2}, x, train=False)


def test_sparse_dense_fixed_mask_and_masked_gradient():
  layer = SparseDense(features=8, sparsity=0.75)
  x = jnp.ones((2, 16))
  v = layer.init(KEY, x)
  mask = np.asarray(v['masks']['kernel'])
  np.testing.assert_array_equal(mask.sum(0), [4] * 8)
  g = jax.grad(lambda p: layer.apply({**v, 'params': p}, x).sum())(v['params'])['kernel']
  assert np.all(np.asarray(g)[mask == 0] == 0)


def test_dendritic_mlp_trains_with_state():
  model = DendriticMLP(hidden=(16,), out=3, num_segments=2, context_dim=4, percent_on=0.25, boost_strength=1.0)
  inputs = {'x': jnp.ones((2, 5)), 'context': jnp.ones((2, 4))}
  v = model.init(KEY, inputs)
  assert set(v) == {'params', 'masks', 'duty_cycles'}
  out, upd = model.apply(v, inputs, train=True, mutable=['duty_cycles', 'masks'])
  assert out.shape == (2, 3)
  assert float(upd['duty_cycles']['kwinners_0']['examples_seen']) == 2.0
  base = DendriticMLP(hidden=(16,), out=3, use_dendrites=False, percent_on=None, weight_sparsity=0.0)
  assert 'segments' not in str(jax.tree_util.tree_structure(base.init(KEY, inputs)['params']))


@pytest.mark.parametrize(
  'build, word',
  [
    (lambda: KWinners(k=30).init(KEY, jnp.ones((1, 20))), 'k=30'),
    (lambda: ActiveDendritesDense(4, 0, 5).init(KEY, jnp.ones((1, 3)), jnp.ones((1, 5))), 'num_segments'),
    (lambda: ActiveDendritesDense(4, 2, 5).init(KEY, jnp.ones((1, 3)), jnp.ones((1, 7))), 'context_dim=5'),
    (lambda: SparseDense(4, sparsity=1.0).init(KEY, jnp.ones((1, 3))), 'sparsity'),
  ],
)
def test_bad_input(build, word):
  with pytest.raises(ConfigurationError, match=word):
    build()
