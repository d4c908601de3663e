"""One run per workdir: a kernel lock (fcntl.flock) on `<workdir>/.launch.lock`, held for the life of the run.

The kernel drops a flock when its process dies, however it dies (SIGKILL, a crash, a lost machine's reboot), so a
killed run never leaves a stale lock; the file's contents (pid, host, command, start time) only describe the
holder for the message a second launch prints. In a multi-process run only process 0 takes it (the launcher
decides; see launch/api.py), because every process of one run shares the workdir.

  probe(workdir)                    raises UsageError if a live run holds it; creates and changes nothing
  lock = acquire(workdir, argv)     takes it (or raises the same UsageError); lock.release() at the end

Linux flock on a local filesystem is the target. On NFS, flock is emulated with POSIX locks (still released when
the process dies); on filesystems without locking at all, acquire raises a UsageError saying so.
"""

import fcntl
import json
import os
import shlex
import socket
import time

from launch.errors import UsageError

LOCK_NAME = '.launch.lock'


def lock_path(workdir: str) -> str:
  return os.path.join(workdir, LOCK_NAME)


class Lock:
  """A held workdir lock; release() unlinks the file and closes it (the kernel releases the lock on close)."""

  def __init__(self, path: str, fd: int):
    self.path, self._fd = path, fd

  def release(self) -> None:
    if self._fd < 0:
      return
    try:
      if _same_file(self.path, self._fd):
        os.unlink(self.path)  # still ours: a waiting launcher re-checks the inode after it locks (see acquire)
    except OSError:
      pass
    os.close(self._fd)
    self._fd = -1


def probe(workdir: str) -> None:
  """Raises UsageError naming the holder if a live run holds `workdir`'s lock. Opens the file read-only, if any."""
  path = lock_path(workdir)
  try:
    fd = os.open(path, os.O_RDONLY)
  except OSError:
    return  # no lock file: nobody holds it (a run creates it before anything else)
  try:
    if not _try_lock(fd):
      raise _busy(workdir, path)
  finally:
    os.close(fd)  # closing releases the probe's own lock, if it got one


def acquire(workdir: str, argv: list[str]) -> Lock:
  """Takes the lock of an existing `workdir` and records who holds it; raises UsageError if a live run holds it."""
  path = lock_path(workdir)
  for _ in range(20):  # a holder that is exiting unlinks the file: lock the file that is at the path now
    try:
      fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
      raise UsageError(f'--workdir={workdir}: cannot create its lock file {path}: {e.strerror or e}.') from None
    try:
      got = _try_lock(fd)
    except OSError as e:
      os.close(fd)
      raise UsageError(
        f'--workdir={workdir}: this filesystem does not support file locks ({e.strerror or e}); use a workdir on a '
        'local disk.'
      ) from None
    if not got:
      os.close(fd)
      raise _busy(workdir, path)
    if _same_file(path, fd):
      _describe_holder(fd, argv)
      return Lock(path, fd)
    os.close(fd)
  raise UsageError(f'--workdir={workdir}: could not take {path} (it keeps being replaced); try again.')


def _try_lock(fd: int) -> bool:
  try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return True
  except BlockingIOError:
    return False


def _same_file(path: str, fd: int) -> bool:
  try:
    a, b = os.stat(path), os.fstat(fd)
  except OSError:
    return False
  return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _describe_holder(fd: int, argv: list[str]) -> None:
  holder = {'pid': os.getpid(), 'host': socket.gethostname(), 'command': shlex.join(argv), 'since': time.time()}
  data = (json.dumps(holder) + '\n').encode()
  os.ftruncate(fd, 0)
  os.pwrite(fd, data, 0)


def holder(path: str) -> dict:
  """What the holder recorded (empty if it has not written yet or the file is gone)."""
  try:
    with open(path) as f:
      return json.loads(f.read() or '{}')
  except (OSError, ValueError):
    return {}


def _busy(workdir: str, path: str) -> UsageError:
  h = holder(path)
  if h:
    since = time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(h.get('since', 0)))
    who = f'pid {h.get("pid")} on host {h.get("host")}, running since {since}: {h.get("command")}'
  else:
    who = 'a process that is starting up (it has not recorded itself yet)'
  return UsageError(
    f'--workdir={workdir} is in use by a live run: {who}. Wait for it to finish (or stop it), or pass another '
    "--workdir. (The lock is the kernel's flock on " + path + '; it disappears when that process exits.)'
  )
