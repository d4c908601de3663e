"""Checkpoints through orbax's CheckpointManager: async saves, keep-N, atomic, resume from the latest step.

Orbax writes each step into a temporary directory and renames it only once every file is complete, so a
process killed mid-save (SIGKILL included) leaves either the previous checkpoints or a finished new one;
the leftover temporary directory is removed on the next start.
"""

import os

import jax
import orbax.checkpoint as ocp


class Checkpointer:
  """Saves and restores the train state (a dict pytree) under `<workdir>/checkpoints/<step>`."""

  def __init__(self, workdir: str, *, keep: int = 3, async_save: bool = True):
    self.directory = os.path.abspath(os.path.join(workdir, 'checkpoints'))
    options = ocp.CheckpointManagerOptions(
      max_to_keep=keep,
      create=True,
      cleanup_tmp_directories=True,
      enable_async_checkpointing=async_save,
    )
    self._manager = ocp.CheckpointManager(self.directory, options=options)

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return list(self._manager.all_steps())

  def save(self, step: int, state) -> None:
    """Starts an (async) save of `state` at `step`; returns before the files are written."""
    self._manager.save(step, args=ocp.args.StandardSave(state), force=True)

  def restore(self, state_like, step: int | None = None):
    """Restores `step` (default the latest) into the structure, shapes and dtypes of `state_like`."""
    step = self.latest_step() if step is None else step
    abstract = jax.tree_util.tree_map(ocp.utils.to_shape_dtype_struct, state_like)
    return self._manager.restore(step, args=ocp.args.StandardRestore(abstract))

  def wait(self) -> None:
    """Blocks until every pending async save is committed to disk."""
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.close()


def restore_params(workdir: str, state_like, step: int | None = None):
  """Convenience for notebooks and tests: the restored train state of a finished run."""
  ckpt = Checkpointer(workdir, async_save=False)
  try:
    return ckpt.restore(state_like, step)
  finally:
    ckpt.close()
