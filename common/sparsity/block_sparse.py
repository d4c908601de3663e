"""Block-sparse storage of a static G2G layer (index grouping): only the connected (source, target) blocks.

A G2G mask with 'index' grouping and a balanced adjacency is G target ensembles, each fed by exactly k source
ensembles. Storing those k blocks per target, (G, k, n_in / G, n_out / G), computes the layer with k / G of the
dense multiply-adds and parameters:

    y[:, target g] = sum_j  x[:, source ensemble sources[g, j]] @ blocks[g, j]

`masked_matmul` is the masked-dense form every trainable layer here uses (x @ (W * M)); bench_sparsity.py times
the two against a dense layer. DST moves single weights across block boundaries, so it needs the masked form.
"""

import jax
import jax.numpy as jnp
import numpy as np

from common.sparsity import masks as masks_lib


def masked_matmul(x: jax.Array, kernel: jax.Array, mask: jax.Array) -> jax.Array:
  """(B, n_in) @ ((n_in, n_out) * mask) -> (B, n_out)."""
  return x @ (kernel * mask)


def block_sparse_matmul(x: jax.Array, blocks: jax.Array, sources: jax.Array) -> jax.Array:
  """(B, n_in) with blocks (G, k, n_in / G, n_out / G) and sources (G, k) -> (B, n_out)."""
  g, _, block_in, block_out = blocks.shape
  xb = x.reshape(x.shape[0], g, block_in)
  gathered = xb[:, sources]  # (B, G, k, block_in): the k source ensembles of every target ensemble
  y = jnp.einsum('bgki,gkio->bgo', gathered, blocks)
  return y.reshape(x.shape[0], g * block_out)


def blocks_from_dense(kernel: jax.Array, sources: np.ndarray) -> jax.Array:
  """The (G, k, n_in / G, n_out / G) blocks of a dense (n_in, n_out) kernel at the given sources (index grouping)."""
  g, k = sources.shape
  n_in, n_out = kernel.shape
  tiles = kernel.reshape(g, n_in // g, g, n_out // g).transpose(2, 0, 1, 3)  # (target, source, in, out)
  return tiles[np.arange(g)[:, None], sources]


def g2g_index_layer(key: jax.Array, num_in: int, num_out: int, *, sparsity: float, num_ensembles: int):
  """(mask (n_in, n_out), sources (G, k)) of one G2G layer with index grouping: the same connectivity twice."""
  k = masks_lib.connections_per_ensemble('g2g_index_layer', sparsity, num_ensembles)
  k_adj, _, _ = jax.random.split(key, 3)  # the split g2g_mask uses, so both describe the same layer
  adjacency = np.asarray(masks_lib.ensemble_adjacency(num_ensembles, k, k_adj))
  mask = masks_lib.g2g_mask(key, num_in, num_out, sparsity=sparsity, num_ensembles=num_ensembles, grouping='index')
  return mask, masks_lib.block_sources(adjacency)
