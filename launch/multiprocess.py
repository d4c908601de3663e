"""A pod on one machine: starts N `launch` processes that form one jax.distributed run (gloo on CPU).

  python -m launch.multiprocess --num_processes=2 -- --gin_file=configs/baselines/digits_mlp.gin --workdir=/tmp/mp

Each process gets --coordinator_address=localhost:<free port> --num_processes=N --process_id=i (and
--platform=cpu unless the launch arguments choose one). Output lines are prefixed with [i]. If a process
fails, the others are stopped; the exit status is the first non-zero status (2 for a configuration problem).
"""

import argparse
import os
import socket
import subprocess
import sys
import threading
import time

from launch.errors import EXIT_USAGE


def free_port() -> int:
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


def commands(num_processes: int, launch_args: list[str], port: int, timeout_s: int) -> list[list[str]]:
  platform = [] if any(a.startswith('--platform') for a in launch_args) else ['--platform=cpu']
  return [
    [
      sys.executable,
      '-m',
      'launch',
      *launch_args,
      *platform,
      f'--coordinator_address=localhost:{port}',
      f'--num_processes={num_processes}',
      f'--process_id={i}',
      f'--distributed_timeout={timeout_s}',
    ]
    for i in range(num_processes)
  ]


def _pump(i: int, stream, out) -> None:
  for line in iter(stream.readline, ''):
    out.write(f'[{i}] {line}')
    out.flush()


def run(
  num_processes: int,
  launch_args: list[str],
  *,
  port: int | None = None,
  timeout_s: int = 120,
  env=None,
  extra: dict[int, list[str]] | None = None,
  out=None,
) -> int:
  """Starts the processes, streams their output, and returns the run's exit status.

  extra: more launch arguments for some processes (tests use it to give one process a different config).
  """
  port = port or free_port()
  env = {**os.environ, **(env or {}), 'PYTHONUNBUFFERED': '1'}
  out = out or sys.stdout
  procs, pumps = [], []
  for i, cmd in enumerate(commands(num_processes, launch_args, port, timeout_s)):
    cmd = cmd + list((extra or {}).get(i, []))
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    t = threading.Thread(target=_pump, args=(i, p.stdout, out), daemon=True)
    t.start()
    procs.append(p)
    pumps.append(t)
  status = 0
  while any(p.poll() is None for p in procs):
    failed = [p for p in procs if p.returncode not in (None, 0)]
    if failed:
      status = status or failed[0].returncode
      time.sleep(2.0)  # let the others report the same problem before stopping them
      for p in procs:
        if p.poll() is None:
          p.terminate()
      break
    time.sleep(0.1)
  for p in procs:
    try:
      p.wait(timeout=30)
    except subprocess.TimeoutExpired:
      p.kill()
      p.wait()
  for t in pumps:
    t.join(timeout=5)
  codes = [p.returncode for p in procs]
  return status or next((c for c in codes if c), 0)


def main(argv: list[str] | None = None) -> int:
  argv = list(sys.argv[1:] if argv is None else argv)
  if '--' in argv:
    cut = argv.index('--')
    own, launch_args = argv[:cut], argv[cut + 1 :]
  else:
    own, launch_args = argv, []
  parser = argparse.ArgumentParser(prog='python -m launch.multiprocess', description=__doc__.split('\n\n')[0])
  parser.add_argument('--num_processes', type=int, required=True)
  parser.add_argument('--port', type=int, default=None, help='coordinator port (default: a free one)')
  parser.add_argument('--timeout', type=int, default=120, help='seconds to wait for every process to join')
  try:
    args = parser.parse_args(own)
  except SystemExit as e:
    return int(e.code or 0)
  if args.num_processes < 1:
    print('launch.multiprocess: --num_processes must be at least 1.', file=sys.stderr)
    return EXIT_USAGE
  if not launch_args:
    print('launch.multiprocess: give the launch arguments after `--`.', file=sys.stderr)
    return EXIT_USAGE
  return run(args.num_processes, launch_args, port=args.port, timeout_s=args.timeout)


if __name__ == '__main__':
  sys.exit(main())
