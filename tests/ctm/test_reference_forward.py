"""The CTM's column-layout, scanned forward pass equals a plain float64 NumPy transcription of the paper's tick.

The transcription below is written from the equations (research notes, module_anchors.md section (d)): batch-major,
a Python loop over ticks, no tricks. If a layout change, a fused kernel or a rewritten gradient ever alters the
maths, this test fails.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common.ctm.synapses import SynapseUNet
from tests.ctm.test_ctm import bits, tiny


def _layer_norm(x, p, eps=1e-5):
  mu = x.mean(-1, keepdims=True)
  var = ((x - mu) ** 2).mean(-1, keepdims=True)
  return (x - mu) / np.sqrt(var + eps) * p['scale'] + p['bias']


def _dense(x, p):
  return x @ p['kernel'] + p['bias']


def _glu(x, axis=-1):
  a, b = np.split(x, 2, axis=axis)
  return a / (1.0 + np.exp(-b))


def _superlinear(x, p):  # (B, D, I) -> (B, D, O), private weights per neuron
  return (np.einsum('bdi,dio->bdo', x, p['w']) + p['b']) / p['temperature']


def reference_forward(model, params, x):
  """predictions (B, T, out_dims) of `model` (synapse depth 1, private NLMs), computed tick by tick in NumPy."""
  p = jax.tree_util.tree_map(lambda a: np.asarray(a, np.float64), params)
  tk = p['tick']
  tokens = np.asarray(model.backbone.apply({'params': params['backbone']}, x), np.float64)
  kv = _layer_norm(_dense(tokens, p['kv_proj']), p['kv_norm'])
  b, s = kv.shape[:2]
  heads, d_head = model.heads, model.d_input // model.heads
  keys = _dense(kv, p['attn_key']).reshape(b, s, heads, d_head)
  values = _dense(kv, p['attn_value']).reshape(b, s, heads, d_head)
  idx = model.pair_indices()
  r_out = np.exp(-np.clip(p['decay_params_out'], 0, 15))
  r_act = np.exp(-np.clip(p['decay_params_action'], 0, 15))

  z = np.broadcast_to(p['start_activated_state'], (b, model.d_model))
  trace = np.broadcast_to(p['start_trace'], (b, model.d_model, model.memory_length))
  alpha_o, beta_o = z[:, idx['out_left']] * z[:, idx['out_right']], 1.0
  alpha_a = beta_a = 0.0
  predictions = []
  for _ in range(model.iterations):
    alpha_a = r_act * alpha_a + z[:, idx['action_left']] * z[:, idx['action_right']]
    beta_a = r_act * beta_a + 1.0
    q = _dense(_dense(alpha_a / np.sqrt(beta_a), tk['q_proj']), tk['attention']['query']).reshape(b, heads, d_head)
    logits = np.einsum('bhd,bshd->bhs', q, keys) / np.sqrt(d_head)
    w = np.exp(logits - logits.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    o = _dense(np.einsum('bhs,bshd->bhd', w, values).reshape(b, -1), tk['attention']['out'])
    pre = _layer_norm(_glu(_dense(np.concatenate([o, z], -1), tk['synapses']['linear'])), tk['synapses']['norm'])
    trace = np.concatenate([trace[:, :, 1:], pre[:, :, None]], -1)
    h = _glu(_superlinear(trace, tk['nlm']['layer1']))
    z = _glu(_superlinear(h, tk['nlm']['layer2']))[..., 0]
    alpha_o = r_out * alpha_o + z[:, idx['out_left']] * z[:, idx['out_right']]
    beta_o = r_out * beta_o + 1.0
    readout = alpha_o / np.sqrt(beta_o) if model.readout == 'synch' else z
    predictions.append(_dense(readout, tk['output_projector']))
  return np.stack(predictions, 1)


def _perturbed(variables, scale=0.3):
  # Biases, decays and temperatures start at 0 or 1; random offsets make every term of the tick matter.
  leaves, tree = jax.tree_util.tree_flatten(variables)
  keys = jax.random.split(jax.random.PRNGKey(7), len(leaves))
  return jax.tree_util.tree_unflatten(
    tree,
    [
      a + scale * jax.random.uniform(k, a.shape, a.dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a
      for a, k in zip(leaves, keys)
    ],
  )


@pytest.mark.parametrize(
  'kw',
  [
    dict(n_random_pairing_self=2),
    dict(neuron_select_type='first-last'),
    dict(neuron_select_type='random', readout='post'),
  ],
)
def test_scanned_column_layout_matches_the_numpy_transcription(kw):
  model = tiny(**kw)
  x = bits(4)
  variables = _perturbed(model.init(jax.random.PRNGKey(1), x))
  ours = jax.jit(lambda v, x: model.apply(v, x)['predictions'])(variables, x)
  np.testing.assert_allclose(ours, reference_forward(model, variables['params'], x), rtol=2e-4, atol=2e-5)


def test_unet_synapse_columns_equal_batch_major():
  x = jax.random.normal(jax.random.PRNGKey(0), (5, 24))
  rows, cols = SynapseUNet(40, 3), SynapseUNet(40, 3, columns=True)
  variables = _perturbed(rows.init(jax.random.PRNGKey(1), x))
  np.testing.assert_allclose(cols.apply(variables, x.T).T, rows.apply(variables, x), rtol=1e-5, atol=1e-5)


def _on_and_off(model, switch: str, monkeypatch, module: str = 'ctm'):
  """((predictions, gradients of sum(sin(predictions))) with common.ctm.<module>.<switch> on (its default), the same
  off), for perturbed parameters on four parity inputs."""
  import importlib

  switches = importlib.import_module(f'common.ctm.{module}')

  x = bits(4)
  variables = _perturbed(model.init(jax.random.PRNGKey(1), x))

  def outputs_and_grads():
    f = lambda p: model.apply({**variables, 'params': p}, x)['predictions']  # noqa: E731
    return jax.jit(lambda p: (f(p), jax.grad(lambda p: jnp.sum(jnp.sin(f(p))))(p)))(variables['params'])

  on = outputs_and_grads()
  monkeypatch.setattr(switches, switch, False)
  return on, outputs_and_grads()


@pytest.mark.parametrize('kw', [dict(n_random_pairing_self=2), dict(synapse_depth=3, d_model=40)])
def test_composed_projections_compute_the_same_function_and_gradients(kw, monkeypatch):
  """The scan applies q_proj∘query and attention.out∘synapses as composed kernels (ctm.fuse_projections)."""
  fused, plain = _on_and_off(tiny(**kw), 'FUSE_PROJECTIONS', monkeypatch)
  np.testing.assert_allclose(fused[0], plain[0], rtol=1e-5, atol=1e-5)
  scale = max(float(jnp.abs(g).max()) for g in jax.tree_util.tree_leaves(plain[1]))  # some are exactly 0 in theory
  for a, b in zip(jax.tree_util.tree_leaves(fused[1]), jax.tree_util.tree_leaves(plain[1])):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6 * scale)


@pytest.mark.parametrize('kw', [dict(), dict(synapse_depth=3, d_model=40)])
def test_transposed_kernels_compute_the_same_function_and_gradients(kw, monkeypatch):
  """The scan's dense layers read kernel^T hoisted out of the loop, with a hand-written gradient
  (columns.transposed_matmul); switched off, they contract the (in, out) kernel directly."""
  transposed, plain = _on_and_off(tiny(**kw), 'TRANSPOSE_KERNELS', monkeypatch)
  np.testing.assert_allclose(transposed[0], plain[0], rtol=1e-5, atol=1e-6)
  for a, b in zip(jax.tree_util.tree_leaves(transposed[1]), jax.tree_util.tree_leaves(plain[1])):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
  # The kernels' gradients are not zero (transposed_matmul gives kernel no cotangent of its own; it arrives through
  # kernel^T), so a lost cotangent fails the comparison above instead of passing it vacuously.
  first = 'first_linear' if 'synapse_depth' in kw else 'linear'
  assert float(jnp.abs(transposed[1]['tick']['synapses'][first]['kernel']).max()) > 0


@pytest.mark.parametrize('kw', [dict(), dict(do_layernorm_nlm=True, deep_nlms=False), dict(shared_nlm=True)])
def test_deferred_temperature_gradient_is_the_same(kw, monkeypatch):
  """history_scan takes the NLM temperatures' gradient once after its backward loop, -(sum(w dw) + sum(b db)) / T
  from the summed w and b gradients; switched off, per tick as autodiff (and _dib_linear) compute it."""
  deferred, plain = _on_and_off(tiny(**kw), 'DEFER_TEMPERATURE', monkeypatch)
  for a, b in zip(jax.tree_util.tree_leaves(deferred[1]), jax.tree_util.tree_leaves(plain[1])):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
  for layer in deferred[1]['tick']['nlm'].values():
    assert float(jnp.abs(layer['temperature'])) > 1e-4  # compared above, so a lost gradient fails there


@pytest.mark.parametrize(
  'kw',
  [
    dict(),
    dict(neuron_select_type='first-last', n_synch_out=6, n_synch_action=3),
    dict(neuron_select_type='random', readout='post'),
  ],
)
def test_merged_synchronisation_computes_the_same_function_and_gradients(kw, monkeypatch):
  """One synchronisation update per tick for this tick's out readout and the next tick's action readout
  (CTMTick.merged_synch); switched off, two updates per tick as the reference."""
  merged, plain = _on_and_off(tiny(**kw), 'MERGE_SYNCH', monkeypatch)
  np.testing.assert_allclose(merged[0], plain[0], rtol=1e-6, atol=1e-7)
  # attn_key's bias has a zero gradient in theory (softmax is shift-invariant), so compare on the largest gradient's
  # scale as the projection test does.
  scale = max(float(jnp.abs(g).max()) for g in jax.tree_util.tree_leaves(plain[1]))
  for a, b in zip(jax.tree_util.tree_leaves(merged[1]), jax.tree_util.tree_leaves(plain[1])):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6 * scale)
  decay = merged[1]['decay_params_action'], plain[1]['decay_params_action']
  assert float(jnp.abs(decay[1]).max()) > 0  # the action decays get their gradient through the merged update
  np.testing.assert_allclose(*decay, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
  'kw',
  [
    dict(),
    dict(synapse_depth=3, d_model=40),
    dict(neuron_select_type='first-last', readout='post', do_layernorm_nlm=True),
    dict(deep_nlms=False, n_random_pairing_self=2),
  ],
)
def test_history_scan_computes_the_same_function_and_gradients(kw, monkeypatch):
  """Training ticks differentiate through common/ctm/history_scan.py (one saved history column per tick, the
  history rebuilt in the backward pass); switched off, through lax.scan over rematerialised ticks."""
  model = tiny(**kw)
  assert model.remat_ticks
  scanned, plain = _on_and_off(model, 'HISTORY_SCAN', monkeypatch)
  np.testing.assert_allclose(scanned[0], plain[0], rtol=1e-6, atol=1e-7)
  for a, b in zip(jax.tree_util.tree_leaves(scanned[1]), jax.tree_util.tree_leaves(plain[1])):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize('kw', [dict(), dict(deep_nlms=False, memory_length=3, iterations=5)])
def test_history_tape_forward_computes_the_same_function_and_gradients(kw, monkeypatch):
  """history_scan's forward loop reads each tick's history as a window of the tape it writes in place
  (history_scan.TAPE); switched off, it carries the shifted history and stacks the new columns."""
  taped, plain = _on_and_off(tiny(**kw), 'TAPE', monkeypatch, module='history_scan')
  np.testing.assert_allclose(taped[0], plain[0], rtol=1e-6, atol=1e-7)
  for a, b in zip(jax.tree_util.tree_leaves(taped[1]), jax.tree_util.tree_leaves(plain[1])):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize('history_scan', [True, False])
@pytest.mark.parametrize('kw', [dict(), dict(memory_hidden_dims=3, memory_length=5, d_model=40)])
def test_fused_nlms_compute_the_same_function_and_gradients(kw, history_scan, monkeypatch):
  """Deep NLMs run as one fused CPU kernel (common/ctm/fused_nlm.py; in history_scan's backward pass from their saved
  outputs); switched off, as XLA ops. Both training scans: history_scan and the rematerialised lax.scan."""
  from common.ctm import fused_nlm

  if not fused_nlm.available():
    pytest.skip('the fused NLM kernel did not build (no g++?): both sides would run the XLA ops')
  monkeypatch.setattr('common.ctm.ctm.HISTORY_SCAN', history_scan)
  fused, plain = _on_and_off(tiny(**kw), 'FUSED', monkeypatch, module='nlm')
  np.testing.assert_allclose(fused[0], plain[0], rtol=1e-5, atol=1e-6)
  scale = max(float(jnp.abs(g).max()) for g in jax.tree_util.tree_leaves(plain[1]))
  for a, b in zip(jax.tree_util.tree_leaves(fused[1]), jax.tree_util.tree_leaves(plain[1])):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6 * scale)
  for layer in fused[1]['tick']['nlm'].values():
    assert float(jnp.abs(layer['w']).max()) > 0 and float(jnp.abs(layer['temperature'])) > 0
