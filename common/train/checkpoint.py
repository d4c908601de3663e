"""Checkpoints through orbax's CheckpointManager: async saves, keep-N, atomic, resume from the latest step.

Orbax writes each step into a temporary directory and renames it only once every file is complete, so a
process killed mid-save (SIGKILL included) leaves either the previous checkpoints or a finished new one;
the leftover temporary directory is removed on the next start.

A save that fails (disk full, permission denied, a file-size limit) raises CheckpointSaveError with one line naming
the directory and the last complete checkpoint, which the failed save never touches (orbax only deletes old steps
after a new one is committed). An async save's error surfaces at the next save() or at wait().

Each step directory holds two items: 'state' (the train state pytree, StandardSave) and 'meta' (a small JSON dict a
loop keeps beside it: a phase schedule's finished-phase metrics, an input iterator's position), saved together.
"""

import contextlib
import logging
import os
import re
import sys

import jax
import orbax.checkpoint as ocp

from common.train.errors import CheckpointSaveError


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
    try:
      self._manager = _ReportingManager(ocp.CheckpointManager(self.directory, options=options), self.directory)
    except OSError as e:
      raise CheckpointSaveError(f'cannot create the checkpoint directory {self.directory}: {e.strerror or e}.') from e

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return list(self._manager.all_steps())

  def save(self, step: int, state, meta: dict | None = None) -> None:
    """Starts an (async) save of `state` (and the JSON dict `meta`) at `step`; returns before the files are written."""
    args = ocp.args.Composite(state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(dict(meta or {})))
    self._manager.save(step, args=args, force=True)

  def restore(self, state_like, step: int | None = None):
    """Restores `step` (default the latest) into the structure, shapes and dtypes of `state_like`; returns
    (state, meta)."""
    step = self.latest_step() if step is None else step
    abstract = jax.tree_util.tree_map(ocp.utils.to_shape_dtype_struct, state_like)
    args = ocp.args.Composite(state=ocp.args.StandardRestore(abstract), meta=ocp.args.JsonRestore())
    restored = self._manager.restore(step, args=args)
    return restored['state'], dict(restored['meta'] or {})

  def delete(self, step: int) -> None:
    """Removes the checkpoint of `step` (a member's save beyond the step a vmapped run resumes from)."""
    self._manager.delete(step)

  def wait(self) -> None:
    """Blocks until every pending async save is committed to disk."""
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.close()


def restore_params(workdir: str, state_like, step: int | None = None):
  """Convenience for notebooks and tests: the restored train state of a finished run."""
  ckpt = Checkpointer(workdir, async_save=False)
  try:
    return ckpt.restore(state_like, step)[0]
  finally:
    ckpt.close()


class _ReportingManager:
  """The orbax manager with save errors turned into CheckpointSaveError (everything else passes through)."""

  def __init__(self, manager, directory: str):
    self._manager, self._directory = manager, directory
    _quiet_orbax_save_tracebacks()
    _quiet_closed_loop_callbacks()

  def __getattr__(self, name):
    return getattr(self._manager, name)

  def save(self, step, *args, **kwargs):
    with _reported(self._directory, step):
      return self._manager.save(step, *args, **kwargs)

  def wait_until_finished(self):
    with _reported(self._directory, None):
      return self._manager.wait_until_finished()


@contextlib.contextmanager
def _reported(directory: str, step):
  try:
    yield
  except Exception as e:  # noqa: BLE001 - orbax and tensorstore raise ValueError/OSError/RuntimeError alike
    failed = re.search(r'/(\d+)\.orbax-checkpoint-tmp', str(e))
    which = f'of step {failed.group(1)}' if failed else (f'of step {step}' if step is not None else '')
    done = [int(n) for n in os.listdir(directory) if n.isdigit()] if os.path.isdir(directory) else []
    kept = f'the last complete checkpoint, step {max(done)}, is intact' if done else 'no complete checkpoint exists yet'
    # The first line is the summary the launcher prints; the cause follows on the next lines, so <workdir>/error.txt
    # keeps it even where gin re-raises the error without its __cause__.
    raise CheckpointSaveError(
      f'saving the checkpoint {which} in {directory} failed: {_reason(e)}; {kept}. Free space or fix permissions '
      f'there, then run the same command to resume.\n  cause: {type(e).__name__}: {e}'
    ) from e


def _reason(error: Exception) -> str:
  """The operating system's words when there are some ('No space left on device'), else the error's first line."""
  if isinstance(error, OSError) and error.strerror:
    return error.strerror
  code = re.search(r"os_error_code='?(\d+)", str(error))  # tensorstore's wording of an OS error
  if code:
    return f'{os.strerror(int(code.group(1)))} (errno {code.group(1)})'
  text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
  tail = text.rsplit(': ', 1)[-1]
  return tail if len(tail) < 120 else text[:200]


def _quiet_closed_loop_callbacks() -> None:
  """When an async save fails, tensorstore's pending callbacks hit orbax's closed event loop, and Python reports
  each as an unraisable RuntimeError('Event loop is closed') with a traceback, from a background thread, before the
  save's error reaches the caller. They are that failure's aftermath (reported once, as CheckpointSaveError), so
  exactly those are dropped; every other unraisable exception still prints."""
  previous = sys.unraisablehook
  if getattr(previous, 'quiets_closed_loops', False):
    return

  def hook(unraisable):
    error = unraisable.exc_value
    if isinstance(error, RuntimeError) and str(error) == 'Event loop is closed':
      return
    previous(unraisable)

  hook.quiets_closed_loops = True
  sys.unraisablehook = hook


_QUIETED = False


def _quiet_orbax_save_tracebacks() -> None:
  """Orbax logs a failed async save with full tracebacks from its threads; the error reaches the caller anyway."""
  global _QUIETED
  if _QUIETED:
    return
  _QUIETED = True

  def drop(record) -> bool:
    return not (record.exc_info and record.levelno >= logging.ERROR and f'{os.sep}orbax{os.sep}' in record.pathname)

  logging.getLogger('absl').addFilter(drop)


STATE_ITEM = 'state'  # the train state's item in every step directory (beside 'meta')


def state_directory(workdir: str, step: int) -> str:
  """<workdir>/checkpoints/<step>/state: where orbax keeps the train state of `step`."""
  return os.path.join(os.path.abspath(workdir), 'checkpoints', str(step), STATE_ITEM)


def read_state(workdir: str, step: int | None = None):
  """The saved train state of `step` (default the latest) as numpy arrays, without knowing its structure.

  For tests, notebooks and `launch diff --shapes`; training code restores through Checkpointer.restore.
  """
  import numpy as np

  if step is None:
    ckpt = Checkpointer(workdir, async_save=False)
    step = ckpt.latest_step()
    ckpt.close()
    if step is None:
      raise FileNotFoundError(f'no checkpoint under {os.path.join(workdir, "checkpoints")}')
  path = state_directory(workdir, step)
  from absl import logging as absl_logging

  level = absl_logging.get_verbosity()
  absl_logging.set_verbosity(absl_logging.ERROR)  # orbax warns that an item directory has no step metadata
  try:
    with ocp.PyTreeCheckpointer() as c:
      tree = c.metadata(path).item_metadata.tree
  finally:
    absl_logging.set_verbosity(level)
  with ocp.PyTreeCheckpointer() as c:
    restore_args = jax.tree_util.tree_map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray), tree)
    return c.restore(path, restore_args=restore_args)
