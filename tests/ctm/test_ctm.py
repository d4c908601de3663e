"""The CTM and LSTM baseline: shapes, tick causality, adaptive halting, bad input, a tiny training run."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common.ctm.backbones import ConvBackbone, ParityBackbone
from common.ctm.ctm import CTM
from common.ctm.lstm import LSTMBaseline
from common.ctm.tasks import CTMClassificationTask, ParityTask, SortTask, greedy_ctc_decode
from common.data.synthetic.parity import cumulative_parity, parity_batch
from common.train.errors import ConfigurationError

L = 6


def tiny(**kw):
  cfg = dict(
    iterations=4,
    d_model=16,
    d_input=8,
    heads=2,
    n_synch_out=6,
    n_synch_action=5,
    memory_length=3,
    memory_hidden_dims=2,
    out_dims=2 * L,
    prediction_reshaper=(L, 2),
    backbone=ParityBackbone(8),
  )
  cfg.update(kw)
  return CTM(**cfg)


def bits(b=3):
  return parity_batch(jax.random.PRNGKey(0), b, L)['inputs']


@pytest.mark.parametrize(
  'kw',
  [
    dict(n_random_pairing_self=2),
    dict(neuron_select_type='first-last', deep_nlms=False),
    dict(neuron_select_type='random', shared_nlm=True, readout='post'),
    dict(synapse_depth=3, d_model=40),
  ],
)
def test_output_shapes(kw):
  m = tiny(**kw)
  x = bits()
  out = jax.jit(lambda k, x: m.apply(m.init(k, x), x))(jax.random.PRNGKey(1), x)  # one compile, not eager ops
  assert out['predictions'].shape == (3, 4, 2 * L)
  assert out['certainties'].shape == (3, 4)
  assert bool(jnp.all((out['certainties'] >= 0) & (out['certainties'] <= 1)))


def test_ticks_are_causal_and_scan_matches_a_shorter_run():
  x = bits()
  long, short = tiny(iterations=5), tiny(iterations=2)
  v = jax.jit(long.init)(jax.random.PRNGKey(1), x)
  a, b = jax.jit(long.apply)(v, x), jax.jit(short.apply)(v, x)  # same parameters: T is not a parameter shape
  np.testing.assert_allclose(a['predictions'][:, :2], b['predictions'], rtol=1e-5, atol=1e-6)
  assert not np.allclose(a['predictions'][:, 2], a['predictions'][:, 1])  # ticks do change the state


def test_gradients_reach_every_parameter():
  m = tiny(n_random_pairing_self=1)
  x = bits()
  v = jax.jit(m.init)(jax.random.PRNGKey(1), x)
  task = ParityTask(length=L, batch_size=3)
  batch = parity_batch(jax.random.PRNGKey(0), 3, L)
  grads = jax.jit(jax.grad(lambda p: task.loss(m.apply({'params': p}, batch['inputs']), batch)[0]))(v['params'])
  zero = [jax.tree_util.keystr(p) for p, g in jax.tree_util.tree_leaves_with_path(grads) if not jnp.any(g != 0)]
  assert not zero, zero


def test_adaptive_halting():
  m = tiny()
  x = bits(4)
  v = jax.jit(m.init)(jax.random.PRNGKey(1), x)
  full = jax.jit(m.apply)(v, x)
  adaptive = jax.jit(lambda v, x, thr: m.apply(v, x, thr, method=CTM.adaptive))
  first = adaptive(v, x, 0.0)  # every example is certain enough at tick 1
  np.testing.assert_array_equal(first['ticks_used'], [1] * 4)
  np.testing.assert_allclose(first['predictions'], full['predictions'][:, 0], rtol=1e-5, atol=1e-6)
  never = adaptive(v, x, 2.0)
  np.testing.assert_array_equal(never['ticks_used'], [4] * 4)
  assert not bool(jnp.any(never['halted']))
  np.testing.assert_allclose(never['predictions'], full['predictions'][:, -1], rtol=1e-5, atol=1e-6)
  # a threshold between ticks: each example stops at its own first tick at/above it
  thr = float(jnp.median(full['certainties']))
  mid = adaptive(v, x, thr)
  reached = full['certainties'] >= thr
  expected = np.where(np.any(reached, 1), np.argmax(reached, 1) + 1, 4)
  np.testing.assert_array_equal(mid['ticks_used'], expected)


@pytest.mark.parametrize(
  'kw, name',
  [
    (dict(iterations=0), 'iterations=0'),
    (dict(memory_length=0), 'memory_length=0'),
    (dict(heads=3), 'heads=3 does not divide d_input=8'),
    (dict(n_synch_out=200), 'n_synch_out=200'),
    (dict(neuron_select_type='first-last', n_synch_out=12, n_synch_action=5), 'n_synch_out \\+ n_synch_action'),
    (dict(readout='z'), 'readout'),
    (dict(compute_dtype='float16'), 'compute_dtype'),
    (dict(out_dims=7), 'out_dims=7'),
  ],
)
def test_bad_configuration_fails_at_construction(kw, name):
  with pytest.raises(ConfigurationError, match=name):
    tiny(**kw)


def test_lstm_baseline_and_its_bad_input():
  m = LSTMBaseline(
    iterations=3, hidden=8, d_input=8, heads=2, out_dims=2 * L, prediction_reshaper=(L, 2), backbone=ParityBackbone(8)
  )
  x = bits()
  out = m.apply(m.init(jax.random.PRNGKey(0), x), x)
  assert out['predictions'].shape == (3, 3, 2 * L)
  with pytest.raises(ConfigurationError, match='heads'):
    LSTMBaseline(heads=3, d_input=8)
  with pytest.raises(ConfigurationError, match='iterations'):
    LSTMBaseline(iterations=0)


def test_parity_generator():
  x = jnp.array([[1.0, -1.0, -1.0, 1.0, -1.0]])
  np.testing.assert_array_equal(cumulative_parity(x), [[0, 1, 0, 0, 1]])
  a, b = parity_batch(jax.random.PRNGKey(3), 4, 8), parity_batch(jax.random.PRNGKey(3), 4, 8)
  np.testing.assert_array_equal(a['inputs'], b['inputs'])
  np.testing.assert_array_equal(a['targets'], cumulative_parity(a['inputs']))


def test_greedy_ctc_decode():
  blank = 3
  seq = jnp.array([[0, 0, 3, 2, 2, 3, 2, 1]])
  logits = jax.nn.one_hot(seq, 4) * 10
  decoded, lengths = greedy_ctc_decode(logits, blank, 4)
  np.testing.assert_array_equal(decoded, [[0, 2, 2, 1]])
  assert int(lengths[0]) == 4


def test_sort_task_loss_is_finite():
  task = SortTask(length=4, batch_size=2, eval_examples=4, eval_batch_size=4)
  m = tiny(iterations=6, out_dims=5, prediction_reshaper=(-1,), backbone=None)
  batch = task.eval_batches()[0]
  v = m.init(jax.random.PRNGKey(0), batch['inputs'][:, :, None])
  loss, metrics = task.loss(m.apply(v, batch['inputs'][:, :, None]), batch)
  assert np.isfinite(float(loss)) and 0 <= float(metrics['element_accuracy']) <= 1


def test_conv_backbone_and_classification_task():
  x = jnp.ones((2, 8, 8, 1))
  m = tiny(out_dims=10, prediction_reshaper=(10,), backbone=ConvBackbone((4, 4)))
  v = m.init(jax.random.PRNGKey(0), x)
  out, _ = m.apply(v, x, train=True, mutable=['batch_stats'])
  task = CTMClassificationTask.__new__(CTMClassificationTask)  # loss only: no dataset needed
  task.num_classes, task.use_most_certain = 10, True
  loss, metrics = task.loss(out, {'targets': jnp.array([1, 2])})
  assert np.isfinite(float(loss)) and set(metrics) >= {'accuracy', 'accuracy_last', 'mean_certain_tick'}


def test_ctm_learns_short_parity():
  """A tiny CTM must beat chance clearly on cumulative parity of length 4 within 150 steps."""
  import optax

  from common.train import loop

  task = ParityTask(length=4, batch_size=64, eval_examples=512)
  m = CTM(
    iterations=4,
    d_model=32,
    d_input=16,
    heads=2,
    n_synch_out=16,
    n_synch_action=16,
    memory_length=4,
    memory_hidden_dims=4,
    out_dims=8,
    prediction_reshaper=(4, 2),
    backbone=ParityBackbone(16),
  )
  tx = optax.adamw(3e-3)
  state_init = m.init(jax.random.PRNGKey(0), task.init_inputs())
  state = {
    'step': jnp.zeros((), jnp.int32),
    'params': state_init['params'],
    'model_state': {},
    'opt_state': tx.init(state_init['params']),
  }
  step = jax.jit(loop.make_train_step(m, task, tx))
  for _ in range(150):
    state, _ = step(state, {}, jax.random.PRNGKey(1), jax.random.PRNGKey(2))
  batch = task.eval_batches()[0]
  _, metrics = task.loss(m.apply({'params': state['params']}, batch['inputs']), batch)
  assert float(metrics['accuracy']) > 0.8


def test_neuron_indices_are_model_state_and_can_be_given():
  m = tiny(n_random_pairing_self=1)
  x = bits()
  v = jax.jit(m.init)(jax.random.PRNGKey(1), x)
  idx = {k: np.asarray(a) for k, a in v['neuron_indices'].items()}
  assert {k: a.shape for k, a in idx.items()} == {
    'out_left': (6,),
    'out_right': (6,),
    'action_left': (5,),
    'action_right': (5,),
  }
  for k, a in m.initial_neuron_indices().items():  # drawn from selection_seed
    np.testing.assert_array_equal(idx[k], a)
  apply = jax.jit(lambda m, v, x: m.apply(v, x)['predictions'], static_argnums=0)
  base = apply(m, v, x)
  np.testing.assert_allclose(apply(m, {'params': v['params']}, x), base, rtol=1e-6)  # no collection: the same ones
  other = {k: (a + 3) % 16 for k, a in idx.items()}
  moved = apply(m, {**v, 'neuron_indices': other}, x)  # the collection's indices are the ones used (restores)
  assert not np.allclose(moved, base)
  given = tiny(n_random_pairing_self=1, neuron_indices={k: a.tolist() for k, a in other.items()})
  np.testing.assert_allclose(apply(given, {'params': v['params']}, x), moved, rtol=1e-6)
  # given indices may repeat pairs, even more pairs than distinct ones exist (the reference's draw allows it)
  many = tiny(
    d_model=3,
    n_synch_out=8,
    n_synch_action=2,
    neuron_indices={
      'out_left': [0, 0, 1, 1, 2, 2, 0, 0],
      'out_right': [0, 0, 1, 2, 2, 1, 1, 1],
      'action_left': [1, 1],
      'action_right': [2, 2],
    },
  )
  assert many.apply(many.init(jax.random.PRNGKey(0), x), x)['predictions'].shape == (3, 4, 2 * L)


@pytest.mark.parametrize(
  'indices, match',
  [
    (dict(out_left=[0] * 6, out_right=[0] * 6, action_left=[0] * 5), 'keys'),
    (dict(out_left=[0] * 5, out_right=[0] * 6, action_left=[0] * 5, action_right=[0] * 5), "'out_left'.*6 integers"),
    (dict(out_left=[0] * 6, out_right=[0] * 5 + [16], action_left=[0] * 5, action_right=[0] * 5), 'd_model=16'),
  ],
)
def test_bad_neuron_indices_fail_at_construction(indices, match):
  with pytest.raises(ConfigurationError, match=match):
    tiny(neuron_indices=indices)


def test_bfloat16_synapses_and_attention_keep_float32_parameters_and_gradients():
  x = bits()
  f32, bf16 = tiny(synapse_depth=3, d_model=40), tiny(synapse_depth=3, d_model=40, compute_dtype='bfloat16')
  v = jax.jit(f32.init)(jax.random.PRNGKey(1), x)
  assert jax.tree_util.tree_structure(v) == jax.tree_util.tree_structure(jax.jit(bf16.init)(jax.random.PRNGKey(1), x))
  task = ParityTask(length=L, batch_size=3)
  batch = parity_batch(jax.random.PRNGKey(0), 3, L)

  def run(m):
    loss = lambda p: task.loss(m.apply({**v, 'params': p}, batch['inputs']), batch)[0]  # noqa: E731
    return jax.jit(lambda p: (m.apply({**v, 'params': p}, batch['inputs'])['predictions'], jax.grad(loss)(p)))(
      v['params']
    )

  (p32, _), (p16, g16) = run(f32), run(bf16)
  assert p16.dtype == jnp.float32
  rel = float(jnp.abs(p16 - p32).max() / jnp.abs(p32).max())
  assert 1e-5 < rel < 2e-2, rel  # rounded operands change the result a little, not a lot
  leaves = jax.tree_util.tree_leaves(g16)
  assert {str(g.dtype) for g in leaves} == {'float32'} and all(bool(jnp.all(jnp.isfinite(g))) for g in leaves)
  hlo = jax.jit(lambda v, x: bf16.apply(v, x)).lower(v, x).as_text()
  assert 'bf16' in hlo
