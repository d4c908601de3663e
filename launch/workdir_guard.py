"""The workdir around a run: checked before anything is written, undone after a failed start, errors recorded.

check_usable(workdir)          a file where the directory should be, a file in its path, not writable: UsageError
start = begin(workdir)         creates it (and missing parents); remembers what was there before
undo(start)                    after a failed start (a configuration error once the run began): removes what this
                               start added, or the whole workdir if this start created it, unless a checkpoint
                               now exists there; a workdir that held files before keeps exactly those
record_failure(workdir, error) the traceback of an exception after the run started -> <workdir>/error.txt
"""

import dataclasses
import os
import shutil
import traceback

from launch.errors import UsageError
from launch.workdir_lock import LOCK_NAME

ERROR_FILE = 'error.txt'


def check_usable(workdir: str) -> None:
  """Raises UsageError if `workdir` cannot be a run directory. Reads only: creates and changes nothing."""
  if os.path.lexists(workdir) and not os.path.isdir(workdir):
    raise UsageError(
      f'--workdir={workdir} is a file, not a directory. Pass a directory path (it is created if missing).'
    )
  existing = _nearest_existing(workdir)
  if not os.path.isdir(existing):
    raise UsageError(
      f'--workdir={workdir}: {existing} is a file, so the directory cannot be created there. Choose another path.'
    )
  # os.access asks the kernel, which also refuses root on read-only mounts (EROFS) and immutable directories; a
  # probe file would be more direct but changes the directory's mtime, and a failed start must not touch it.
  if not os.access(existing, os.W_OK | os.X_OK):
    what = workdir if existing == workdir else f'{existing} (where {workdir} would be created)'
    reason = 'read-only file system' if _read_only_mount(existing) else 'permission denied'
    raise UsageError(f'--workdir={workdir}: cannot write in {what}: {reason}. Choose a writable directory.')


def _read_only_mount(path: str) -> bool:
  try:
    return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
  except OSError:
    return False


def _nearest_existing(path: str) -> str:
  while not os.path.lexists(path):
    parent = os.path.dirname(path)
    if parent == path:
      break
    path = parent
  return path


@dataclasses.dataclass
class Start:
  workdir: str
  created_root: str | None  # the outermost directory this start created, if any
  before: frozenset[str]  # top-level entries that were there before


def begin(workdir: str) -> Start:
  """Creates `workdir` if needed and records its previous contents."""
  existing = _nearest_existing(workdir)
  created_root = None
  if existing != workdir:
    created_root = workdir
    while os.path.dirname(created_root) != existing:
      created_root = os.path.dirname(created_root)
  before = frozenset(os.listdir(workdir)) if created_root is None else frozenset()
  try:
    os.makedirs(workdir, exist_ok=True)
  except OSError as e:
    raise UsageError(f'--workdir={workdir}: cannot create it: {e.strerror or e}.') from None
  return Start(workdir, created_root, before)


def undo(start: Start | None) -> None:
  """Removes what a failed start added (never anything that was there before, never a checkpointed run)."""
  if start is None or not os.path.isdir(start.workdir) or _has_checkpoint(start.workdir):
    return
  if start.created_root is not None:
    shutil.rmtree(start.created_root, ignore_errors=True)
    return
  for name in set(os.listdir(start.workdir)) - start.before - {LOCK_NAME}:  # the lock: its holder removes it
    path = os.path.join(start.workdir, name)
    if os.path.isdir(path) and not os.path.islink(path):
      shutil.rmtree(path, ignore_errors=True)
    else:
      try:
        os.unlink(path)
      except OSError:
        pass


def _has_checkpoint(workdir: str) -> bool:
  ckpt = os.path.join(workdir, 'checkpoints')
  return os.path.isdir(ckpt) and any(name.isdigit() for name in os.listdir(ckpt))


def record_failure(workdir: str | None, error: BaseException, process_index: int = 0) -> str | None:
  """Writes the traceback to <workdir>/error.txt (error.process<i>.txt for other processes); returns the path.

  Returns None when there is no workdir to write in (the caller then keeps the traceback elsewhere).
  """
  if not workdir or not os.path.isdir(workdir):
    return None
  name = ERROR_FILE if process_index == 0 else f'error.process{process_index}.txt'
  path = os.path.join(workdir, name)
  original = unproxied(error)
  text = ''.join(traceback.format_exception(original))
  if original is not error:  # gin's note (which configurable was running) is only on the proxy's message
    text += f'\n{type(error).__name__} as gin reported it: {error}\n'
  try:
    with open(path, 'w') as f:
      f.write(text)
  except OSError:
    return None
  return path


def unproxied(error: BaseException) -> BaseException:
  """The exception an entry point raised, when gin re-raised it as a proxy that lost its __cause__ chain.

  gin.utils.augment_exception_message_and_reraise raises a subclass instance whose __getattr__ closes over the
  original exception; the original still has the chain (e.g. the OSError under a failed checkpoint save).
  """
  forward = type(error).__dict__.get('__getattr__')
  if getattr(forward, '__module__', '') != 'gin.utils':
    return error
  for cell in getattr(forward, '__closure__', None) or ():
    if isinstance(cell.cell_contents, BaseException):
      return cell.cell_contents
  return error


def clear_failure(workdir: str) -> None:
  """After a run finished: an error.txt left by an earlier failed attempt no longer describes this workdir."""
  try:
    os.unlink(os.path.join(workdir, ERROR_FILE))
  except OSError:
    pass
