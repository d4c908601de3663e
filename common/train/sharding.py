"""Data parallelism over every device of the run (all local devices, and every host's under jax.distributed).

One mesh axis, 'data'. Parameters, optimizer state and the in-memory dataset are replicated; each step's
batch is constrained to be split along 'data', so XLA's SPMD partitioner runs the per-example work on each
device's slice and all-reduces the gradients. With one device this is a no-op.
"""

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from common.train.errors import ConfigurationError

DATA_AXIS = 'data'


def data_mesh() -> Mesh:
  return Mesh(np.asarray(jax.devices()), (DATA_AXIS,))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, PartitionSpec())


def batch_sharded(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, PartitionSpec(DATA_AXIS))


def replicate(tree, mesh: Mesh):
  """Places a pytree of host or device arrays on every device of the mesh."""
  sharding = replicated(mesh)
  if jax.process_count() == 1:
    return jax.device_put(tree, sharding)
  return jax.tree_util.tree_map(
    lambda x: jax.make_array_from_callback(np.shape(x), sharding, lambda idx: np.asarray(x)[idx]), tree
  )


def shard_batch(batch, mesh: Mesh):
  """Inside jit: splits every batch array along its leading axis over the 'data' axis."""
  size = mesh.shape[DATA_AXIS]
  if size == 1:
    return batch
  for name, x in batch.items():
    if x.shape[0] % size:
      raise ConfigurationError(
        f'batch entry {name!r} has {x.shape[0]} examples, not divisible by the {size} devices; '
        f'use a batch size that is a multiple of {size}.'
      )
  return jax.lax.with_sharding_constraint(batch, batch_sharded(mesh))
