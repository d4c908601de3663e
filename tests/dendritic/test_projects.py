"""Small pieces of the dendritic projects: permutations and prototypes, pruning, the delay SNN."""

import jax
import jax.numpy as jnp
import numpy as np

from common.dendritic import DCLSDelayDense, FixedDelayDense
from projects.active_dendrites import experiment as ad
from projects.synaptic_delays import experiment as sd
from projects.synaptic_delays.model import DelaySNN


def test_task_permutations_and_centered_prototypes():
  perms = ad.task_permutations(64, 4, seed=1)
  assert perms.shape == (4, 64)
  np.testing.assert_array_equal(perms[0], np.arange(64))
  assert all(sorted(p) == list(range(64)) for p in perms)
  np.testing.assert_array_equal(perms, ad.task_permutations(64, 4, seed=1))
  x = np.random.default_rng(0).random((10, 64))
  protos = ad.prototypes(x, perms)
  np.testing.assert_allclose(protos[2], x[:, perms[2]].mean(0))
  centered = ad.prototypes(x, perms, center=True)
  np.testing.assert_allclose(centered.mean(-1), 0, atol=1e-12)


def test_prune_kernel_keeps_largest():
  k = jnp.array([[0.1, -3.0], [2.0, 0.5]])
  np.testing.assert_allclose(sd.prune_kernel(k, 0.5), [[0, -3.0], [2.0, 0]])
  np.testing.assert_allclose(sd.prune_kernel(k, 0.01), [[0, -3.0], [0, 0]])


def test_delay_snn_runs_with_each_synapse_type():
  x = jax.random.bernoulli(jax.random.PRNGKey(0), 0.2, (2, 12, 6)).astype(jnp.float32)
  for synapses in (FixedDelayDense(5, max_delay=4), DCLSDelayDense(5, max_delay=4)):
    model = DelaySNN(synapses=synapses, out=3)
    v = model.init(jax.random.PRNGKey(1), x)
    assert model.apply(v, x).shape == (2, 3)
    g = jax.grad(lambda p, m=model, v=v: m.apply({**v, 'params': p}, x).sum())(v['params'])
    assert all(np.isfinite(np.asarray(leaf)).all() for leaf in jax.tree_util.tree_leaves(g))
