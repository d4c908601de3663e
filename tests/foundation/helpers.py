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
