"""Synapses, neuron-level models, synchronisation and certainty/loss on tiny shapes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common.ctm import losses, synch
from common.ctm.nlm import NeuronLevelModels, SuperLinear
from common.ctm.synapses import SynapseGLU, SynapseUNet, make_synapses, unet_widths
from common.train.errors import ConfigurationError


def test_superlinear_is_a_private_linear_map_per_neuron():
  x = jax.random.normal(jax.random.PRNGKey(0), (3, 5, 4))
  layer = SuperLinear(4, 6)
  v = layer.init(jax.random.PRNGKey(1), x)
  y = layer.apply(v, x)
  w, b, temp = v['params']['w'], v['params']['b'], v['params']['temperature']
  for d in range(5):  # reference check: neuron d uses only its own weights
    np.testing.assert_allclose(y[:, d], (x[:, d] @ w[d] + b[d]) / temp, rtol=1e-5, atol=1e-6)
  assert w.shape == (5, 4, 6)


def test_nlm_deep_shallow_and_shared_shapes():
  trace = jax.random.normal(jax.random.PRNGKey(0), (2, 7, 5))
  for kw, n_w in (
    (dict(deep=True), 7 * 5 * 6 + 7 * 3 * 2),
    (dict(deep=False), 7 * 5 * 2),
    (dict(shared=True), 5 * 6 + 3 * 2),
  ):
    m = NeuronLevelModels(memory_length=5, hidden=3, **kw)
    v = m.init(jax.random.PRNGKey(1), trace)
    assert m.apply(v, trace).shape == (2, 7)
    ws = [x for p, x in jax.tree_util.tree_leaves_with_path(v) if p[-1].key == 'w']
    assert sum(x.size for x in ws) == n_w


def test_nlm_neurons_are_independent():
  trace = jax.random.normal(jax.random.PRNGKey(0), (2, 6, 4))
  m = NeuronLevelModels(memory_length=4, hidden=3)
  v = m.init(jax.random.PRNGKey(1), trace)
  jac = jax.jacobian(lambda t: m.apply(v, t)[0])(trace)[:, 0]  # (D_out, D_in, M)
  off_diag = jac * (1 - jnp.eye(6))[:, :, None]
  assert float(jnp.abs(off_diag).max()) == 0.0
  assert float(jnp.abs(jac).max()) > 0.0


def test_synapses_shapes_and_unet_widths():
  x = jnp.ones((2, 10))
  glu = SynapseGLU(8)
  assert glu.apply(glu.init(jax.random.PRNGKey(0), x), x).shape == (2, 8)
  assert unet_widths(64, 4) == [64, 48, 32, 16]
  unet = SynapseUNet(64, 4)
  v = unet.init(jax.random.PRNGKey(0), x)
  assert unet.apply(v, x).shape == (2, 64)
  assert v['params']['down2_linear']['kernel'].shape == (32, 16)
  assert v['params']['up0_linear']['kernel'].shape == (48, 64)
  with pytest.raises(ConfigurationError, match='synapse_depth'):
    make_synapses(8, 0, 0.0)


def test_pair_selection_variants():
  left, right = synch.select_pairs('first-last', 10, 3, 'out')
  assert len(left) == synch.synch_size('first-last', 3) == 6
  assert set(left) | set(right) == {0, 1, 2}
  left, right = synch.select_pairs('first-last', 10, 3, 'action')
  assert set(left) | set(right) == {7, 8, 9}
  left, right = synch.select_pairs('random-pairing', 10, 12, 'out', n_self=4, seed=3)
  assert len(left) == 12 and np.all(left[:4] == right[:4])
  pairs = {(min(a, b), max(a, b)) for a, b in zip(left, right)}
  assert len(pairs) == 12  # no repeated pair
  again = synch.select_pairs('random-pairing', 10, 12, 'out', n_self=4, seed=3)
  np.testing.assert_array_equal(again[0], left)
  # the densest request enumerates every pair
  left, right = synch.select_pairs('random-pairing', 4, 10, 'out', n_self=0)
  assert len({(min(a, b), max(a, b)) for a, b in zip(left, right)}) == 10
  left, _ = synch.select_pairs('random', 10, 4, 'out')
  assert len(left) == 10


@pytest.mark.parametrize(
  'args, name',
  [
    (('first-last', 10, 6, 6, 0), 'n_synch_out \\+ n_synch_action'),
    (('random', 10, 11, 2, 0), 'n_synch_out=11'),
    (('random-pairing', 4, 11, 2, 0), 'n_synch_out=11'),
    (('random-pairing', 8, 4, 2, 3), 'n_random_pairing_self'),
    (('diagonal', 8, 4, 2, 0), 'neuron_select_type'),
  ],
)
def test_pair_selection_rejects_bad_sizes(args, name):
  with pytest.raises(ConfigurationError, match=name):
    synch.validate(*args)


def test_recurrent_synch_matches_the_explicit_sum():
  z = jax.random.normal(jax.random.PRNGKey(0), (5, 2, 6))  # ticks, batch, neurons
  left, right = np.array([0, 1, 2]), np.array([0, 3, 5])
  decay = jnp.array([0.0, 0.5, 3.0])
  r = jnp.exp(-decay)
  alpha = beta = jnp.zeros((2, 3))
  for t in range(5):
    s, alpha, beta = synch.update(alpha, beta, synch.pair_products(z[t], left, right), r)
  w = r[None, :] ** jnp.arange(4, -1, -1)[:, None]  # (ticks, pairs): r^(t - tau)
  pp = z[:, :, left] * z[:, :, right]
  expected = jnp.sum(w[:, None] * pp, 0) / jnp.sqrt(jnp.sum(w, 0))
  np.testing.assert_allclose(s, expected, rtol=1e-5)


def test_decay_clamp_keeps_gradients():
  decay = jnp.array([-1.0, 3.0, 20.0])
  np.testing.assert_allclose(synch.clamp_decay(decay), [0.0, 3.0, 15.0])
  grad = jax.grad(lambda d: jnp.sum(synch.clamp_decay(d) * jnp.array([1.0, 2.0, 3.0])))(decay)
  np.testing.assert_allclose(grad, [1.0, 2.0, 3.0])


def test_certainty_is_one_minus_normalised_entropy():
  assert float(losses.certainty(jnp.zeros((1, 4)))[0]) == pytest.approx(0.0, abs=1e-6)
  assert float(losses.certainty(jnp.array([[100.0, 0, 0, 0]]))[0]) == pytest.approx(1.0, abs=1e-5)
  # structured output: the mean over positions of each 2-way certainty
  logits = jnp.array([[0.0, 0.0, 100.0, 0.0]])
  assert float(losses.certainty(logits, (2, 2))[0]) == pytest.approx(0.5, abs=1e-5)


def test_tick_loss_averages_min_loss_and_most_certain_ticks():
  ce = jnp.array([[3.0, 1.0, 2.0], [0.5, 4.0, 6.0]])
  cert = jnp.array([[0.1, 0.2, 0.9], [0.0, 0.8, 0.1]])
  loss, per_example, t2 = losses.tick_loss(ce, cert)
  np.testing.assert_allclose(per_example, [(1.0 + 2.0) / 2, (0.5 + 4.0) / 2])
  np.testing.assert_array_equal(t2, [2, 1])
  assert float(loss) == pytest.approx((1.5 + 2.25) / 2)
  _, per_example, t2 = losses.tick_loss(ce, cert, use_most_certain=False)
  np.testing.assert_allclose(per_example, [(1.0 + 2.0) / 2, (0.5 + 6.0) / 2])
  np.testing.assert_array_equal(t2, [2, 2])


@pytest.mark.parametrize('kw', [dict(deep=True), dict(deep=False), dict(shared=True)])
def test_nlm_layouts_agree_in_values_and_gradients(kw):
  """The CTM's (D, M, B) layout, with its hand-written gradients (weights, and the temperature from dw and db),
  computes the reference (B, D, M) layout's maths."""
  trace = jax.random.normal(jax.random.PRNGKey(0), (3, 5, 4))  # (B, D, M)
  ref = NeuronLevelModels(memory_length=4, hidden=3, **kw)
  dib = NeuronLevelModels(memory_length=4, hidden=3, layout='dib', **kw)
  v = ref.init(jax.random.PRNGKey(1), trace)
  v = jax.tree_util.tree_map(lambda p: p + 0.1 * jax.random.normal(jax.random.PRNGKey(2), p.shape), v)  # nonzero b
  as_dib = lambda t: jnp.transpose(t, (1, 2, 0))  # noqa: E731
  np.testing.assert_allclose(dib.apply(v, as_dib(trace)).T, ref.apply(v, trace), rtol=1e-5, atol=1e-6)
  g_ref = jax.grad(lambda v, t: jnp.sum(jnp.sin(ref.apply(v, t))), (0, 1))(v, trace)
  g_dib = jax.grad(lambda v, t: jnp.sum(jnp.sin(dib.apply(v, as_dib(t)).T)), (0, 1))(v, trace)
  for a, b in zip(jax.tree_util.tree_leaves(g_ref), jax.tree_util.tree_leaves(g_dib)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_positional_embeddings_shapes_and_edge_cases():
  from common.ctm.positional import CustomRotational, LearnableFourier, MultiLearnableFourier

  x = jnp.ones((2, 1, 5, 6))  # H == 1: the reference divides by zero there; here that coordinate is 0
  for emb in (LearnableFourier(fourier_dims=8, hidden_dims=4), MultiLearnableFourier(3, fourier_dims=8, hidden_dims=4)):
    y = emb.apply(emb.init(jax.random.PRNGKey(0), x), x)
    assert y.shape == (1, 1, 5, 6) and bool(jnp.all(jnp.isfinite(y)))
  rect = jnp.ones((2, 3, 5, 4))  # rows and columns get their own angle ranges (the reference needs H == W)
  rot = CustomRotational()
  v = rot.init(jax.random.PRNGKey(0), rect)
  y = rot.apply(v, rect)
  assert y.shape == (1, 3, 5, 4)
  assert not np.allclose(y[0, 0, 0], y[0, 2, 0]) and not np.allclose(y[0, 0, 0], y[0, 0, 4])
  with pytest.raises(ConfigurationError, match='fourier_dims'):
    LearnableFourier(fourier_dims=7)


def test_image_backbone_token_shapes_and_bad_sizes():
  from common.ctm.backbones import ResNetBackbone, ShallowWideBackbone

  x = jnp.ones((2, 16, 16, 1))
  for backbone, tokens, features in (
    (ResNetBackbone(18, 2), 16, 128),  # stem keeps 16x16, max-pool 8x8, stage 2 4x4
    (ResNetBackbone(50, 1), 64, 256),
    (ShallowWideBackbone(width=64, groups=8), 64, 64),
  ):
    shapes = jax.eval_shape(lambda x, b=backbone: b.init_with_output(jax.random.PRNGKey(0), x)[0], x)
    assert shapes.shape == (2, tokens, features) and backbone.features == features
  with pytest.raises(ConfigurationError, match='depth=19'):
    ResNetBackbone(19)
  with pytest.raises(ConfigurationError, match='multiple of groups'):
    ShallowWideBackbone(width=60, groups=8)
