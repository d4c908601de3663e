"""Test-time adaptation: the soft Hebbian rule against a NumPy transcription, the corruptions, and each method's
step (what changes, what stays fixed, shapes, jit)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common.continual import adaptation, corruptions, tta_model
from common.data.pipeline import ArrayDataset
from common.train.errors import ConfigurationError


def _numpy_soft_hebb(kernel, x, temperature):
  """Transcription: explicit 'SAME' patches, u = w . patch, y = softmax(u / T), dw = mean_p y (patch - u w)."""
  kh, kw, cin, cout = kernel.shape
  b, h, w, _ = x.shape
  padded = np.pad(x, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
  dw = np.zeros_like(kernel, dtype=np.float64)
  patches = 0
  for n in range(b):
    for i in range(h):
      for j in range(w):
        patch = padded[n, i : i + kh, j : j + kw, :].astype(np.float64)  # (kh, kw, cin)
        u = np.einsum('hwc,hwco->o', patch, kernel)
        y = np.exp((u - u.max()) / temperature)
        y /= y.sum()
        for k in range(cout):
          dw[..., k] += y[k] * (patch - u[k] * kernel[..., k])
        patches += 1
  return dw / patches


@pytest.mark.parametrize('temperature', [1.0, 0.3])
def test_soft_hebbian_update_matches_numpy(temperature):
  rng = np.random.default_rng(0)
  kernel = rng.normal(0, 0.4, (3, 3, 2, 4)).astype(np.float32)
  x = rng.random((2, 5, 4, 2)).astype(np.float32)
  got = adaptation.soft_hebbian_update(jnp.asarray(kernel), jnp.asarray(x), temperature)
  np.testing.assert_allclose(got, _numpy_soft_hebb(kernel, x, temperature), rtol=1e-4, atol=1e-6)


def test_soft_hebbian_fixed_point_is_the_unit_mean_direction():
  """One channel (y = 1): dw = E[x] - E[u] w, whose fixed point is w = E[x] / |E[x]| (SoftHebb's unit-norm
  centroid); repeated updates reach it from another direction."""
  rng = np.random.default_rng(1)
  x = jnp.asarray(rng.normal(size=(64, 1, 1, 3)) * 0.3 + np.array([1.0, 0.5, -0.2]), jnp.float32)
  w = jnp.asarray([[[[0.1], [-0.4], [0.6]]]], jnp.float32)  # (1, 1, 3, 1)
  for _ in range(300):
    w = w + 0.1 * adaptation.soft_hebbian_update(w, x, 1.0)
  mean = np.asarray(x).reshape(-1, 3).mean(0)
  np.testing.assert_allclose(np.asarray(w).ravel(), mean / np.linalg.norm(mean), atol=1e-3)


def _source():
  model = tta_model.TTACNN(channels=(4, 8), num_classes=3)
  x = jax.random.uniform(jax.random.PRNGKey(0), (6, 8, 8, 1))
  variables = model.init(jax.random.PRNGKey(1), x)
  return model, variables, {'inputs': x, 'targets': jnp.array([0, 1, 2, 0, 1, 2])}


def test_modulator_starts_as_identity():
  model, variables, batch = _source()
  assert float(jnp.abs(model.apply(variables, batch['inputs'])).sum()) > 0
  mod = tta_model.NeuroModulator()
  x = jax.random.normal(jax.random.PRNGKey(2), (2, 3, 3, 4))
  np.testing.assert_allclose(mod.apply(mod.init(jax.random.PRNGKey(0), x), x), x, rtol=1e-6)


@pytest.mark.parametrize(
  'method,changed',
  [
    ('source', set()),
    ('norm', set()),
    ('tent', {'norm_0', 'norm_1'}),
    ('hebbian', {'conv_0'}),
    ('nhl', {'conv_0', 'modulator'}),
  ],
)
def test_each_method_updates_only_its_parameters(method, changed):
  model, variables, batch = _source()
  params, model_state = variables['params'], {'batch_stats': variables['batch_stats']}
  adapter = adaptation.Adaptation(model, method, learning_rate=0.1, hebbian_lr=0.5)
  state = adapter.init(params, model_state)
  step = jax.jit(adapter.step)
  state, logits, metrics = step(state, batch, jax.random.PRNGKey(0))
  state, logits, metrics = step(state, batch, jax.random.PRNGKey(1))
  assert logits.shape == (6, 3) and int(state['step']) == 2
  assert set(metrics) >= {'entropy', 'accuracy'} and 0.0 <= float(metrics['accuracy']) <= 1.0
  moved = {
    m
    for m in params
    if any(not np.array_equal(a, b) for a, b in zip(*map(jax.tree_util.tree_leaves, (params[m], state['params'][m]))))
  }
  assert moved == changed
  jax.tree_util.tree_map(np.testing.assert_array_equal, state['model_state'], model_state)  # running stats kept
  if method == 'source':  # no adaptation: the source model's own eval-mode prediction
    np.testing.assert_allclose(logits, model.apply(variables, batch['inputs']), rtol=1e-5)


def test_tent_lowers_the_entropy_of_a_repeated_batch():
  model, variables, batch = _source()
  adapter = adaptation.Adaptation(model, 'tent', learning_rate=0.5, momentum=0.0)
  state = adapter.init(variables['params'], {'batch_stats': variables['batch_stats']})
  step = jax.jit(adapter.step)
  entropies = []
  for i in range(6):
    state, _, metrics = step(state, batch, jax.random.PRNGKey(i))
    entropies.append(float(metrics['entropy']))
  assert entropies[-1] < entropies[0]


def test_bad_adaptation_configuration():
  model, variables, _ = _source()
  with pytest.raises(ConfigurationError, match='method'):
    adaptation.Adaptation(model, 'bogus')
  with pytest.raises(ConfigurationError, match="adapts \\['conv_9'\\]"):
    adaptation.Adaptation(model, 'hebbian', hebbian_layer='conv_9').init(variables['params'], {})


@pytest.mark.parametrize('corruption', corruptions.CORRUPTIONS)
def test_corruptions_grow_with_severity_and_are_seeded(corruption):
  rng = np.random.default_rng(0)
  x = (rng.random((4, 8, 8, 1)) > 0.5).astype(np.float32)
  distances = [np.abs(corruptions.corrupt(x, corruption, s, seed=0) - x).mean() for s in range(6)]
  assert distances[0] == 0.0 and distances[1] > 0 and distances[5] > distances[1]
  a = corruptions.corrupt(x, corruption, 3, seed=1)
  np.testing.assert_array_equal(a, corruptions.corrupt(x, corruption, 3, seed=1))
  assert a.min() >= 0.0 and a.max() <= 1.0 and a.shape == x.shape


def test_corruption_stream_domains_and_batches():
  rng = np.random.default_rng(0)
  split = {'inputs': rng.random((10, 8, 8, 1)).astype(np.float32), 'targets': np.arange(10, dtype=np.int32)}
  s = corruptions.corruption_stream(ArrayDataset(split, split), corruptions=('contrast', 'rotation'), severities=(1, 5))
  assert s.names == ('contrast@1', 'contrast@5', 'rotation@1', 'rotation@5') and s.inputs.shape == (4, 10, 8, 8, 1)
  assert all(sorted(s.targets[d].tolist()) == list(range(10)) for d in range(4))  # every example once, reordered
  batches = s.batches(1, 4)
  assert len(batches) == 2 and batches[0]['inputs'].shape == (4, 8, 8, 1)
  with pytest.raises(ConfigurationError, match="corruption='fog'"):
    corruptions.corrupt(split['inputs'], 'fog', 1)
