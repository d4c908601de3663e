"""Trial bookkeeping shared by sweeps, vmapped sweeps, Optuna studies and `launch report`.

A trial is one run of an experiment with some gin keys set to values. Its id is a hash of those values, so it
does not move when trials are added, reordered or filtered (a sweep) or when a dead trial is retried with the same
parameters (a study): ROOT/<trial id> is always the same directory, and a relaunch resumes from its checkpoints.

  ROOT/<trial id>/trial.json   the trial's record: bindings, status, final metrics, who ran it

Statuses: 'running', 'done', 'failed', 'pruned' (stopped early by a study's pruner). Every JSON file is written to
a temporary name and renamed, so a process killed mid-write never leaves half a file.
"""

import dataclasses
import hashlib
import json
import os
from typing import Any

from launch import config_model as cm

TRIAL_FILE = 'trial.json'
RUNNING, DONE, FAILED, PRUNED = 'running', 'done', 'failed', 'pruned'


@dataclasses.dataclass(frozen=True)
class Trial:
  """One trial: its position in the sweep (`index`; a study's trial number), its id and its (key, value) pairs."""

  index: int
  id: str
  values: tuple[tuple[str, Any], ...]

  @property
  def bindings(self) -> list[str]:
    """The trial as gin bindings, e.g. ['LEARNING_RATE = 0.001', 'mlp.MLP.hidden = (8,)']."""
    return [f'{k} = {cm.to_gin(v)}' for k, v in self.values]

  @property
  def keys(self) -> list[str]:
    return [k for k, _ in self.values]

  def text(self, key: str) -> str:
    """The gin text of `key`'s value in this trial ('' when the trial does not set it)."""
    return next((cm.to_gin(v) for k, v in self.values if k == key), '')


def trial_id(values) -> str:
  """'t' + 8 hex digits of the sha256 of the sorted (key, gin text) pairs: independent of order."""
  canonical = json.dumps(sorted((k, cm.to_gin(v)) for k, v in values))
  return 't' + hashlib.sha256(canonical.encode()).hexdigest()[:8]


def make(index: int, values) -> Trial:
  values = tuple(values)
  return Trial(index, trial_id(values), values)


def workdir(root: str, trial: Trial | str) -> str:
  """ROOT/<trial id> (absolute)."""
  return os.path.join(os.path.abspath(root), trial if isinstance(trial, str) else trial.id)


def write_json(path: str, obj) -> None:
  """Writes `obj` as indented, key-sorted JSON atomically (temporary file + rename); numpy scalars become floats."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  tmp = f'{path}.tmp{os.getpid()}'
  with open(tmp, 'w') as f:
    json.dump(obj, f, indent=2, sort_keys=True, default=float)
  os.replace(tmp, path)


def read_json(path: str) -> dict | None:
  """The JSON object in `path`, or None when the file does not exist."""
  if not os.path.isfile(path):
    return None
  with open(path) as f:
    return json.load(f)


def read(trial_dir: str) -> dict | None:
  """The trial.json record in `trial_dir`, or None."""
  return read_json(os.path.join(trial_dir, TRIAL_FILE))


def write(trial_dir: str, record: dict) -> None:
  write_json(os.path.join(trial_dir, TRIAL_FILE), record)


def numeric(metrics: dict) -> dict[str, float]:
  """The numbers of a final-metrics dict (booleans and non-numbers dropped), as floats or ints."""
  return {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def is_chief() -> bool:
  """Whether this process writes the trial's files (process 0 of a multi-process run)."""
  import jax

  return jax.process_index() == 0
