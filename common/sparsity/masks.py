"""Connectivity masks: ensemble-to-ensemble (G2G) block masks and random masks of an exact density.

G2GNet (Konstantaropoulos, Smirnakis & Papadopouli 2025, "Neuro-inspired Ensemble-to-Ensemble Communication
Primitives for Sparse and Efficient ANNs") partitions the units of two consecutive layers into ensembles and lets
each source ensemble talk to a subset of the target ensembles only: the weight mask is a block matrix.

Choices made here (the seed text gives the idea, not the construction; stated because they fix the numbers):
  * both layers are cut into the same number G of equal ensembles ('index': contiguous units, 'random': a seeded
    random balanced assignment), so a unit-level mask is the (G, G) ensemble adjacency with every entry expanded
    to a (n_in / G, n_out / G) block;
  * the adjacency is balanced: every source ensemble reaches exactly k = density * G targets and every target
    ensemble hears exactly k sources (a circulant pattern whose rows and columns are shuffled by the seed), so
    the layer's density is exactly k / G, every unit keeps the same fan-in, and no ensemble is cut off;
  * density * G must be a whole number (e.g. G = 8: densities 1/8 ... 8/8; 50% and 75% sparsity are k = 4, 2).
"""

import jax
import jax.numpy as jnp
import numpy as np

from common.train.errors import ConfigurationError

GROUPINGS = ('index', 'random')


def check_density(owner: str, sparsity: float) -> float:
  """1 - sparsity, after checking sparsity lies in [0, 1)."""
  if not 0.0 <= sparsity < 1.0:
    raise ConfigurationError(f'{owner}.sparsity={sparsity} must lie in [0, 1) (the fraction of weights removed).')
  return 1.0 - sparsity


def connections_per_ensemble(owner: str, sparsity: float, num_ensembles: int) -> int:
  """k = (1 - sparsity) * G target ensembles per source ensemble; a ConfigurationError unless it is whole."""
  density = check_density(owner, sparsity)
  if num_ensembles < 1:
    raise ConfigurationError(f'{owner}.num_ensembles={num_ensembles} must be at least 1.')
  k = density * num_ensembles
  if abs(k - round(k)) > 1e-6 or round(k) < 1:
    allowed = ', '.join(f'{1 - j / num_ensembles:g}' for j in range(1, num_ensembles + 1))
    raise ConfigurationError(
      f'{owner}.sparsity={sparsity} with num_ensembles={num_ensembles} gives {k:g} target ensembles per source '
      f'ensemble; it must be a whole number. With {num_ensembles} ensembles use sparsity in {{{allowed}}}, or '
      'change num_ensembles.'
    )
  return int(round(k))


def ensemble_ids(num_units: int, num_ensembles: int, grouping: str, key: jax.Array | None = None) -> jax.Array:
  """(num_units,) ensemble index of each unit; equal ensembles of num_units / num_ensembles units. Traceable."""
  if grouping not in GROUPINGS:
    raise ConfigurationError(f'grouping={grouping!r} must be one of {GROUPINGS}.')
  if num_units % num_ensembles:
    raise ConfigurationError(
      f'num_ensembles={num_ensembles} must divide the layer width {num_units} (equal ensembles); pick a divisor.'
    )
  ids = jnp.repeat(jnp.arange(num_ensembles), num_units // num_ensembles)
  if grouping == 'random':
    ids = ids[jax.random.permutation(key, num_units)]
  return ids


def ensemble_adjacency(num_ensembles: int, per_source: int, key: jax.Array) -> jax.Array:
  """(G, G) {0,1}: source ensemble i -> target j; every row and every column holds exactly `per_source` ones.

  Traceable (masks are drawn inside model.init, which may run under jit or eval_shape)."""
  g = num_ensembles
  circulant = jnp.asarray((np.arange(g)[None, :] - np.arange(g)[:, None]) % g < per_source, jnp.float32)
  k_rows, k_cols = jax.random.split(key)
  return circulant[jax.random.permutation(k_rows, g)][:, jax.random.permutation(k_cols, g)]


def g2g_mask(
  key: jax.Array, num_in: int, num_out: int, *, sparsity: float, num_ensembles: int, grouping: str = 'index'
) -> jax.Array:
  """(num_in, num_out) {0,1} float32 ensemble-to-ensemble mask of density exactly 1 - sparsity."""
  k = connections_per_ensemble('g2g_mask', sparsity, num_ensembles)
  k_adj, k_in, k_out = jax.random.split(key, 3)
  adjacency = ensemble_adjacency(num_ensembles, k, k_adj)
  src = ensemble_ids(num_in, num_ensembles, grouping, k_in)
  dst = ensemble_ids(num_out, num_ensembles, grouping, k_out)
  return adjacency[src][:, dst]


def random_mask(key: jax.Array, shape: tuple[int, ...], *, sparsity: float) -> jax.Array:
  """{0,1} float32 mask of `shape` with exactly round((1 - sparsity) * size) ones at uniformly random places."""
  density = check_density('random_mask', sparsity)
  size = int(np.prod(shape))
  keep = max(1, int(round(density * size)))
  ranks = jnp.argsort(jnp.argsort(jax.random.uniform(key, (size,))))
  return (ranks < keep).astype(jnp.float32).reshape(shape)


def block_sources(adjacency: np.ndarray) -> np.ndarray:
  """(G, k) the source ensembles of each target ensemble of a balanced adjacency (for block-sparse storage)."""
  adjacency = np.asarray(adjacency)
  per_target = adjacency.sum(axis=0)
  if not np.all(per_target == per_target[0]):
    raise ValueError('block_sources needs a balanced adjacency (every target ensemble has as many sources).')
  return np.stack([np.flatnonzero(adjacency[:, j]) for j in range(adjacency.shape[1])]).astype(np.int32)
