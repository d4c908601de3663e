"""Small pieces of the dendritic projects: permutations and prototypes, pruning, the delay SNN."""

import jax
import jax.numpy as jnp
import numpy as np

from common.continual.streams import permuted_stream
from common.data.pipeline import ArrayDataset
from common.dendritic import DCLSDelayDense, FixedDelayDense
from projects.active_dendrites import experiment as ad
from projects.synaptic_delays import experiment as sd
from projects.synaptic_delays.model import DelaySNN


def test_prototypes_of_the_shared_permuted_stream():
  rng = np.random.default_rng(0)
  split = lambda n: {'inputs': rng.random((n, 8, 8, 1)).astype(np.float32), 'targets': np.arange(n) % 10}  # noqa: E731
  data = ArrayDataset(train=split(30), eval=split(10), name='toy')
  stream = permuted_stream(data, num_tasks=4, seed=1)
  x = stream.train_inputs.reshape(4, 30, 64)
  protos = ad.prototypes(x)
  assert protos.shape == (4, 64)
  np.testing.assert_allclose(protos[0], data.train['inputs'].reshape(30, 64).mean(0), rtol=1e-6)  # task 0 unpermuted
  for t in range(1, 4):  # every other task's prototype is a permutation of the first, and differs from it
    np.testing.assert_allclose(np.sort(protos[t]), np.sort(protos[0]), rtol=1e-6)
    assert not np.allclose(protos[t], protos[0])
  np.testing.assert_allclose(ad.prototypes(x, center=True).mean(-1), 0, atol=1e-6)


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
