"""The run's record under `<workdir>/config/`, and the check that a workdir is not reused for another config.

  config/resolved.gin   every binding after includes and overrides, each with the file:line that set it
  config/resolved.json  the same, canonical and machine-readable (input of `launch diff`)
  config/operative.gin  gin's operative config: what the code actually read (written after the run)
  config/cli.txt        the exact command line
  config/env.json       git commit and dirty flag, package versions, devices, seed, hostname

Every file is written to a temporary name and renamed, so a killed process never leaves half a file.
"""

import json
import os
import platform as py_platform
import shlex
import socket
import subprocess
import sys
from importlib import metadata

from launch.errors import UsageError
from launch.gin_args import repo_root

# Keys that never make two runs different experiments.
VOLATILE_KEYS = ('workdir',)
PACKAGES = (
  'jax',
  'jaxlib',
  'flax',
  'optax',
  'orbax-checkpoint',
  'gin-config',
  'tensorflow-datasets',
  'tensorflow-cpu',
  'ml-collections',
  'absl-py',
  'chex',
  'numpy',
  'scikit-learn',
  'scipy',
)


def write_atomic(path: str, text: str) -> None:
  tmp = f'{path}.tmp{os.getpid()}'
  with open(tmp, 'w') as f:
    f.write(text)
  os.replace(tmp, path)


def config_dir(workdir: str) -> str:
  return os.path.join(workdir, 'config')


def check_workdir(workdir: str, resolved_json: dict, allow_change: bool) -> None:
  """Refuses to start in a workdir whose saved run had a different resolved config (unless allowed)."""
  path = os.path.join(config_dir(workdir), 'resolved.json')
  if not os.path.exists(path):
    return
  with open(path) as f:
    old = json.load(f)['bindings']
  new = resolved_json['bindings']
  changed = sorted(k for k in set(old) | set(new) if not k.endswith(VOLATILE_KEYS) and _val(old, k) != _val(new, k))
  if changed and not allow_change:
    rows = '\n'.join(
      f'  {k}: {old.get(k, {}).get("gin", "(unset)")} -> {new.get(k, {}).get("gin", "(unset)")}' for k in changed
    )
    raise UsageError(
      f'{workdir} holds a run with a different config; resuming it would mix two experiments:\n{rows}\n'
      'Use a new --workdir, or pass --allow_config_change to resume with the new config anyway.'
    )


def _val(bindings, key):
  return json.dumps(bindings[key]['value'], sort_keys=True) if key in bindings else None


def git_state() -> dict:
  def git(*args):
    try:
      return subprocess.run(['git', *args], cwd=repo_root(), capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
      return ''

  commit = git('rev-parse', 'HEAD')
  return {
    'commit': commit or None,
    'dirty': bool(git('status', '--porcelain', '--untracked-files=no')) if commit else None,
  }


def environment(seed, platform_info: dict) -> dict:
  versions = {}
  for name in PACKAGES:
    try:
      versions[name] = metadata.version(name)
    except metadata.PackageNotFoundError:
      versions[name] = None
  return {
    'git': git_state(),
    'seed': seed,
    'python': sys.version.split()[0],
    'os': py_platform.platform(),
    'hostname': socket.gethostname(),
    'packages': versions,
    'devices': platform_info,
    'data_order': 'pure function of (seed, step) via fold_in; not checkpointed',
  }


def write_start(workdir: str, *, resolved_gin: str, resolved_json: dict, argv: list[str], env: dict) -> None:
  os.makedirs(config_dir(workdir), exist_ok=True)
  d = config_dir(workdir)
  write_atomic(os.path.join(d, 'resolved.gin'), resolved_gin)
  write_atomic(os.path.join(d, 'resolved.json'), json.dumps(resolved_json, indent=2, sort_keys=True) + '\n')
  write_atomic(os.path.join(d, 'cli.txt'), shlex.join(argv) + '\n')
  write_atomic(os.path.join(d, 'env.json'), json.dumps(env, indent=2) + '\n')


def write_end(workdir: str, *, operative_gin: str) -> None:
  write_atomic(os.path.join(config_dir(workdir), 'operative.gin'), operative_gin)
