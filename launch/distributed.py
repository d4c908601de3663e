"""Several processes, one run: `jax.distributed` set up before anything touches a device, and a check that every
process resolved the same config.

  TPU pod     run the same command on every host with --platform=tpu: JAX finds its peers itself.
  GPU / CPU   --coordinator_address=HOST:PORT --num_processes=N --process_id=I (or the environment variables
              JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID; Slurm and Open MPI are detected by JAX
              when --num_processes is left out and --distributed=auto). CPU processes talk through gloo.
  one host    `python -m launch.multiprocess --num_processes=N -- <launch args>` fills those in for you.

JAX aborts the whole process (no Python exception) when the coordinator does not answer in time, so the
non-coordinator processes first wait for its port themselves and stop with a clear message and exit status 2.
Every process then hashes its resolved config (bindings and their canonical values, not where they were set)
and all hashes are gathered: a process that disagrees stops the run on every process with a message naming it.
"""

import dataclasses
import hashlib
import json
import os
import socket
import time

from launch.errors import UsageError

ENV = {
  'coordinator_address': 'JAX_COORDINATOR_ADDRESS',
  'num_processes': 'JAX_NUM_PROCESSES',
  'process_id': 'JAX_PROCESS_ID',
}


@dataclasses.dataclass(frozen=True)
class Settings:
  mode: str  # 'auto', 'on' or 'off'
  coordinator_address: str | None
  num_processes: int | None
  process_id: int | None
  timeout_s: int
  platform: str

  @property
  def explicit(self) -> bool:
    return self.num_processes is not None and self.num_processes > 1


def settings(
  *, mode='auto', coordinator_address=None, num_processes=None, process_id=None, timeout_s=300, platform='auto'
) -> Settings:
  """Flags first, then the environment."""

  def pick(value, name, cast):
    if value is not None:
      return value
    raw = os.environ.get(ENV[name])
    if raw in (None, ''):
      return None
    try:
      return cast(raw)
    except ValueError:
      raise UsageError(f'${ENV[name]}={raw!r} is not a valid {name}.') from None

  return Settings(
    mode,
    pick(coordinator_address, 'coordinator_address', str),
    pick(num_processes, 'num_processes', int),
    pick(process_id, 'process_id', int),
    int(timeout_s),
    platform,
  )


def initialize(s: Settings) -> bool:
  """Calls jax.distributed.initialize when this run has several processes; returns whether it did.

  Must run before anything creates a JAX backend (gin parsing imports modules that may).
  """
  import jax

  if s.mode == 'off':
    return False
  if not s.explicit:
    if s.mode == 'on' or (s.mode == 'auto' and s.platform == 'tpu'):
      # TPU pods, Slurm, Open MPI: JAX detects the cluster itself.
      try:
        jax.distributed.initialize(initialization_timeout=s.timeout_s)
      except (RuntimeError, ValueError) as e:
        raise UsageError(
          f'jax.distributed could not detect the cluster: {e}. Pass --coordinator_address, '
          '--num_processes and --process_id (or --distributed=off for one process).'
        ) from None
      return True
    return False
  missing = [n for n in ('coordinator_address', 'process_id') if getattr(s, n) is None]
  if missing:
    raise UsageError(
      f'--num_processes={s.num_processes} also needs {" and ".join("--" + m for m in missing)} (or the '
      f'environment variables {", ".join(ENV[m] for m in missing)}).'
    )
  if not 0 <= s.process_id < s.num_processes:
    raise UsageError(f'--process_id={s.process_id} must be in 0..{s.num_processes - 1}.')
  host, port = _split_address(s.coordinator_address)
  # Gloo collectives for CPU processes (it only affects the CPU backend, so GPU runs are unaffected).
  jax.config.update('jax_cpu_collectives_implementation', 'gloo')
  if s.process_id != 0:
    wait_for_coordinator(host, port, s.timeout_s, s.process_id)
  else:
    print(
      f'launch: process 0 of {s.num_processes} coordinates at {s.coordinator_address}; waiting up to '
      f'{s.timeout_s} s for the others',
      flush=True,
    )
  jax.distributed.initialize(
    coordinator_address=s.coordinator_address,
    num_processes=s.num_processes,
    process_id=s.process_id,
    initialization_timeout=s.timeout_s,
  )
  return True


def _split_address(address: str) -> tuple[str, int]:
  host, sep, port = address.rpartition(':')
  if not sep or not host or not port.isdigit():
    raise UsageError(f'--coordinator_address={address!r} must be HOST:PORT, e.g. localhost:12345 or 10.0.0.2:8476.')
  return host, int(port)


def wait_for_coordinator(host: str, port: int, timeout_s: float, process_id: int) -> None:
  """Polls the coordinator's port until it accepts a connection; a clear error after `timeout_s`."""
  deadline = time.monotonic() + timeout_s
  last = None
  while time.monotonic() < deadline:
    try:
      with socket.create_connection((host, port), timeout=min(2.0, timeout_s)):
        return
    except OSError as e:
      last = e
      time.sleep(0.2)
  raise UsageError(
    f'process {process_id}: the coordinator at {host}:{port} did not answer within {timeout_s:g} s ({last}). '
    'Start process 0 (it hosts the coordinator) with the same --coordinator_address, check host and port are '
    'reachable from here, or raise --distributed_timeout.'
  )


def config_hash(resolved_json: dict) -> str:
  """sha256 of the canonical bindings (key -> value); where a value was set does not matter."""
  canonical = {k: b['value'] for k, b in resolved_json['bindings'].items()}
  return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def agree_on_config(resolved_json: dict) -> str:
  """Gathers every process's config hash; raises UsageError on every process when any differs."""
  import jax

  digest = config_hash(resolved_json)
  if jax.process_count() == 1:
    return digest
  import numpy as np
  from jax.experimental import multihost_utils

  mine = np.frombuffer(bytes.fromhex(digest), dtype=np.int32)
  everyone = np.asarray(multihost_utils.process_allgather(mine)).reshape(jax.process_count(), -1)
  hashes = [row.astype(np.int32).tobytes().hex() for row in everyone]
  odd = [i for i, h in enumerate(hashes) if h != hashes[0]]
  if odd:
    listing = '\n'.join(f'  process {i}: {h[:16]}' + ('  <- differs' if i in odd else '') for i, h in enumerate(hashes))
    raise UsageError(
      f'the processes resolved different configs, so they would train different experiments:\n{listing}\n'
      'Every process must run the same code with the same gin files and flags. Compare two hosts with '
      '`launch --print_config ...` on each, or `launch diff` of their config/resolved.json.'
    )
  return digest
