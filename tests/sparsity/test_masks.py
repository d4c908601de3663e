import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common.sparsity import block_sparse, masks
from common.train.errors import ConfigurationError


@pytest.mark.parametrize('sparsity,groups', [(0.5, 8), (0.75, 8), (0.75, 4)])
@pytest.mark.parametrize('grouping', ['index', 'random'])
def test_g2g_mask_density_and_ensemble_blocks(sparsity, groups, grouping):
  key = jax.random.PRNGKey(3)
  n_in, n_out = 64, 256
  m = np.asarray(masks.g2g_mask(key, n_in, n_out, sparsity=sparsity, num_ensembles=groups, grouping=grouping))
  assert m.shape == (n_in, n_out) and set(np.unique(m)) <= {0.0, 1.0}
  assert m.mean() == pytest.approx(1 - sparsity, abs=1e-9)
  # Every unit keeps the same fan-in and fan-out (balanced adjacency, equal ensembles).
  assert np.all(m.sum(0) == (1 - sparsity) * n_in) and np.all(m.sum(1) == (1 - sparsity) * n_out)
  # Units of one ensemble share their connectivity: at most `groups` distinct rows and columns.
  assert len({r.tobytes() for r in m}) <= groups and len({c.tobytes() for c in m.T}) <= groups
  if grouping == 'index':  # contiguous ensembles: the mask is constant on (n_in/G, n_out/G) tiles
    tiles = m.reshape(groups, n_in // groups, groups, n_out // groups)
    assert np.all(tiles.min(axis=(1, 3)) == tiles.max(axis=(1, 3)))


def test_g2g_mask_depends_on_key_and_is_reproducible():
  a = masks.g2g_mask(jax.random.PRNGKey(0), 32, 32, sparsity=0.5, num_ensembles=4)
  b = masks.g2g_mask(jax.random.PRNGKey(0), 32, 32, sparsity=0.5, num_ensembles=4)
  c = masks.g2g_mask(jax.random.PRNGKey(1), 32, 32, sparsity=0.5, num_ensembles=4)
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(np.asarray(a), np.asarray(c))


def test_g2g_mask_traces_under_jit():
  fn = jax.jit(lambda k: masks.g2g_mask(k, 16, 16, sparsity=0.75, num_ensembles=4, grouping='random'))
  assert float(fn(jax.random.PRNGKey(0)).mean()) == 0.25


def test_random_mask_exact_count():
  m = masks.random_mask(jax.random.PRNGKey(0), (3, 3, 8, 16), sparsity=0.75)
  assert int(m.sum()) == round(0.25 * m.size)


def test_bad_sparsity_names_the_parameter():
  with pytest.raises(ConfigurationError, match='sparsity=0.6 with num_ensembles=8'):
    masks.g2g_mask(jax.random.PRNGKey(0), 64, 64, sparsity=0.6, num_ensembles=8)
  with pytest.raises(ConfigurationError, match='must divide the layer width 60'):
    masks.g2g_mask(jax.random.PRNGKey(0), 60, 64, sparsity=0.5, num_ensembles=8)
  with pytest.raises(ConfigurationError, match=r'sparsity=1.0 must lie in \[0, 1\)'):
    masks.random_mask(jax.random.PRNGKey(0), (4, 4), sparsity=1.0)


def test_block_sparse_matmul_equals_masked_dense():
  key = jax.random.PRNGKey(0)
  mask, sources = block_sparse.g2g_index_layer(key, 32, 64, sparsity=0.75, num_ensembles=8)
  kernel = jax.random.normal(jax.random.fold_in(key, 1), (32, 64))
  x = jax.random.normal(jax.random.fold_in(key, 2), (5, 32))
  blocks = block_sparse.blocks_from_dense(kernel, sources)
  assert blocks.shape == (8, 2, 4, 8)
  np.testing.assert_allclose(
    block_sparse.block_sparse_matmul(x, blocks, jnp.asarray(sources)),
    block_sparse.masked_matmul(x, kernel, mask),
    rtol=1e-5,
    atol=1e-5,
  )
