"""Synthetic generators the dendritic projects use: adding problem, spike adding, drifting textures, delay motifs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common.data.synthetic import events, sequences
from common.train.errors import ConfigurationError

KEY = jax.random.PRNGKey(0)


def test_adding_problem_targets():
  b = sequences.adding_batch(KEY, 16, 30)
  x, y = np.asarray(b['inputs']), np.asarray(b['targets'])
  assert x.shape == (16, 30, 2) and y.shape == (16, 1)
  np.testing.assert_array_equal(x[..., 1].sum(1), 2)
  assert np.all(x[:, :15, 1].sum(1) == 1)  # one marker in each half
  np.testing.assert_allclose(y[:, 0], (x[..., 0] * x[..., 1]).sum(1), rtol=1e-6)


def test_spike_adding_layout_and_sum():
  images = jnp.stack([jnp.zeros(64), jnp.ones(64)])
  labels = jnp.array([3, 7])
  b = sequences.spike_adding_batch(KEY, images, labels, 32, gap=10, steps_per_digit=5, max_prob=1.0)
  x, y = np.asarray(b['inputs']), np.asarray(b['targets'])
  assert x.shape == (32, 20, 64)
  assert x[:, 5:15].sum() == 0  # the gap is silent
  first = x[:, :5].sum((1, 2)) > 0  # an all-ones image spikes everywhere at max_prob = 1, the blank one never
  second = x[:, 15:].sum((1, 2)) > 0
  np.testing.assert_array_equal(y, 6 + 4 * first + 4 * second)
  with pytest.raises(ConfigurationError, match='gap'):
    sequences.spike_adding_batch(KEY, images, labels, 2, gap=-1)


def test_drifting_texture_rates_and_motion():
  b = events.drifting_texture_batch(KEY, 256, size=12, num_steps=6, noise=0.0)
  x, y = np.asarray(b['inputs']), np.asarray(b['targets'])
  assert x.shape == (256, 6, 288) and set(np.unique(x)) <= {0.0, 1.0}
  rates = np.array([x[y == d].mean() for d in range(8)])
  assert 0.03 < rates.mean() < 0.4
  assert rates.std() / rates.mean() < 0.15  # same speed in every direction: rates do not reveal it
  # Direction 0 moves along +x: the ON map at step t+1 is the map at step t shifted by one pixel.
  on = x[y == 0][:, :, :144].reshape(-1, 6, 12, 12)
  shifted = np.roll(on[:, 2], 1, axis=-1)
  assert np.mean(shifted == on[:, 3]) > np.mean(on[:, 2] == on[:, 3])


def test_delay_motifs_differ_only_in_timing():
  b = events.delay_motif_batch(KEY, 200, num_channels=16, num_steps=30, num_classes=3, motif_channels=6, rate=0.0)
  x, y = np.asarray(b['inputs']), np.asarray(b['targets'])
  np.testing.assert_array_equal(x.sum(1)[:, :6], 1)  # each motif channel spikes exactly once, whatever the class
  assert x[:, :, 6:].sum() == 0
  offsets = events.motif_offsets(3, 6, 10)
  first = x[:, :, :6].argmax(1)
  np.testing.assert_array_equal(first - first.min(1, keepdims=True), offsets[y] - offsets[y].min(1, keepdims=True))
  with pytest.raises(ConfigurationError, match='motif_channels'):
    events.delay_motif_batch(KEY, 2, num_channels=4, motif_channels=8)
