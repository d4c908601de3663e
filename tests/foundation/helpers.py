"""Helpers for foundation tests: run `launch` as a subprocess, as a user would."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def launch(*args: str, timeout: float = 300, **popen) -> subprocess.CompletedProcess:
  return subprocess.run(
    [sys.executable, '-m', 'launch', *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, **popen
  )


def launch_popen(*args: str, **popen) -> subprocess.Popen:
  return subprocess.Popen(
    [sys.executable, '-m', 'launch', *args],
    cwd=ROOT,
    stdout=subprocess.PIPE,
    stderr=subprocess.STDOUT,
    text=True,
    **popen,
  )


def check_readme_sweep(config: str, path: str, seeds: list[int]) -> None:
  """A README's (config, sweep file) pair: the trials validate against the config, and the first row's trials
  (differing only in SEED, in the order `seeds`) can share one vmapped program (--vmap_trials); run from ROOT."""
  from launch import api, sweep, vmapped

  loaded = sweep.load(path)
  trials = sweep.trials_of(loaded, path)
  sweep.check(trials, loaded.keys, path, [config], [], [ROOT])
  group = vmapped.groups(trials)[0]
  assert [dict(t.values)['SEED'] for t in group] == seeds
  if len(group) > 1:  # raises if the seeds could not share a program
    vmapped.check_members([api.prepare([config], t.bindings, [ROOT]) for t in group], [t.id for t in group])
