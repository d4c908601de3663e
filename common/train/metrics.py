"""One metric writer fanning out to metrics.jsonl, TensorBoard event files and the console.

Only process 0 writes files (every process may call it). Rows in metrics.jsonl look like
  {"step": 100, "split": "train", "loss": 0.31, "accuracy": 0.92, "steps_per_sec": 812.4}

TensorBoard files are written with the `tensorboard` package's own record framing and protos (no TensorFlow):
flax's SummaryWriter imports TensorFlow, which cost 4-9 s in every launched process, also for runs whose data
never touch TensorFlow. `tensorboard --logdir=<workdir>/tensorboard` reads them as usual.
"""

import itertools
import json
import os
import socket
import sys
import time
from typing import Callable, Mapping

import jax
import numpy as np


def read_jsonl(path: str) -> list[dict]:
  with open(path) as f:
    return [json.loads(line) for line in f if line.strip()]


def read_finished_runs(workdirs, filename: str = 'final_metrics.json') -> list[dict]:
  """The `filename` JSON (default final_metrics.json) of every workdir that has one (runs that finished), in order.

  For results scripts that gather seeds: workdirs of unfinished or missing runs are skipped.
  """
  runs = []
  for workdir in workdirs:
    path = os.path.join(workdir, filename)
    if os.path.exists(path):
      with open(path) as f:
        runs.append(json.load(f))
  return runs


# Observers of written metrics (e.g. a hyperparameter study's pruner), called as fn(step, split, values) after every
# MetricWriter.write: on process 0, or on every process for observers added with every_process=True (those that
# agree across processes through a collective, so every process must write the same rows). An observer may stop
# the run by raising common.train.errors.RunStopped; the training loops let it propagate.
_OBSERVERS: list[tuple[Callable[[int, str, dict], None], bool]] = []


def add_observer(fn: Callable[[int, str, dict], None], *, every_process: bool = False) -> None:
  _OBSERVERS.append((fn, every_process))


def remove_observer(fn: Callable[[int, str, dict], None]) -> None:
  _OBSERVERS[:] = [(f, every) for f, every in _OBSERVERS if f is not fn]


def _notify(step: int, split: str, metrics: Mapping[str, float], *, writer: bool) -> None:
  observers = [f for f, every in _OBSERVERS if writer or every]
  if observers:
    values = {k: float(np.asarray(v)) for k, v in metrics.items()}
    for fn in observers:
      fn(int(step), split, values)


class MetricWriter:
  def __init__(self, workdir: str, *, console: bool = True):
    self.is_writer = jax.process_index() == 0
    self.console = console and self.is_writer
    self.jsonl_path = os.path.join(workdir, 'metrics.jsonl')
    self._tb = {}
    self._workdir = workdir
    if self.is_writer:
      os.makedirs(workdir, exist_ok=True)

  def _tb_writer(self, split: str) -> '_EventFile':
    if split not in self._tb:
      self._tb[split] = _EventFile(os.path.join(self._workdir, 'tensorboard', split))
    return self._tb[split]

  def truncate_after(self, step: int) -> None:
    """Drops rows beyond `step` (left by a run killed after its last checkpoint) so a resume does not duplicate."""
    if not (self.is_writer and os.path.exists(self.jsonl_path)):
      return
    # The 'final' row is rewritten by the run that finishes (a relaunched finished run writes it again).
    rows = [r for r in read_jsonl(self.jsonl_path) if r['step'] <= step and r.get('split') != 'final']
    tmp = self.jsonl_path + '.tmp'
    with open(tmp, 'w') as f:
      f.writelines(json.dumps(r) + '\n' for r in rows)
    os.replace(tmp, self.jsonl_path)

  def write(self, step: int, split: str, metrics: Mapping[str, float]) -> None:
    if not self.is_writer:
      _notify(step, split, metrics, writer=False)
      return
    values = {k: float(np.asarray(v)) for k, v in metrics.items()}
    with open(self.jsonl_path, 'a') as f:
      f.write(json.dumps({'step': int(step), 'split': split, **values}) + '\n')
    self._tb_writer(split).scalars(int(step), values)
    if self.console and split != 'final':  # final metrics are printed once by the launcher
      shown = '  '.join(f'{k}={v:.4g}' for k, v in values.items())
      print(f'[{split} step {step}] {shown}', file=sys.stderr, flush=True)
    _notify(step, split, values, writer=True)

  def close(self) -> None:
    for tb in self._tb.values():
      tb.close()


_FILE_IDS = itertools.count()


class _EventFile:
  """One TensorBoard event file (TFRecord framing of `Event` protos), scalars only; flushed after every write."""

  def __init__(self, logdir: str):
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.record_writer import RecordWriter

    self._event_pb2, self._summary_pb2 = event_pb2, summary_pb2
    os.makedirs(logdir, exist_ok=True)
    # A per-process counter in the name (as TensorFlow's writers add a uid): the HParams session start and end are
    # written through two EventFiles into one directory, and a run shorter than a second gave both the same name,
    # so the end's file replaced the start's.
    name = f'events.out.tfevents.{int(time.time())}.{socket.gethostname()}.{os.getpid()}.{next(_FILE_IDS)}.v2'
    self._file = open(os.path.join(logdir, name), 'wb')
    self._records = RecordWriter(self._file)
    self._write(self._event_pb2.Event(wall_time=time.time(), file_version='brain.Event:2'))

  def _write(self, event) -> None:
    self._records.write(event.SerializeToString())
    self._records.flush()

  def scalars(self, step: int, values: Mapping[str, float]) -> None:
    summary = self._summary_pb2.Summary(
      value=[self._summary_pb2.Summary.Value(tag=k, simple_value=v) for k, v in values.items()]
    )
    self.summary(step, summary)

  def summary(self, step: int, summary) -> None:
    """Writes any `Summary` proto (e.g. the hparams plugin's, common/train/hparams.py) at `step`."""
    self._write(self._event_pb2.Event(wall_time=time.time(), step=step, summary=summary))

  def close(self) -> None:
    self._records.close()


EventFile = _EventFile  # the public name for other writers of TensorBoard summaries
