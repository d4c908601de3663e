"""One metric writer fanning out to metrics.jsonl, TensorBoard event files and the console.

Only process 0 writes files (every process may call it). Rows in metrics.jsonl look like
  {"step": 100, "split": "train", "loss": 0.31, "accuracy": 0.92, "steps_per_sec": 812.4}
"""

import json
import os
import sys
from typing import Mapping

import jax
import numpy as np


def read_jsonl(path: str) -> list[dict]:
  with open(path) as f:
    return [json.loads(line) for line in f if line.strip()]


class MetricWriter:
  def __init__(self, workdir: str, *, console: bool = True):
    self.is_writer = jax.process_index() == 0
    self.console = console and self.is_writer
    self.jsonl_path = os.path.join(workdir, 'metrics.jsonl')
    self._tb = {}
    self._workdir = workdir
    if self.is_writer:
      os.makedirs(workdir, exist_ok=True)

  def _tb_writer(self, split: str):
    if split not in self._tb:
      from flax.metrics import tensorboard

      self._tb[split] = tensorboard.SummaryWriter(os.path.join(self._workdir, 'tensorboard', split))
    return self._tb[split]

  def truncate_after(self, step: int) -> None:
    """Drops rows beyond `step` (left by a run killed after its last checkpoint) so a resume does not duplicate."""
    if not (self.is_writer and os.path.exists(self.jsonl_path)):
      return
    rows = [r for r in read_jsonl(self.jsonl_path) if r['step'] <= step]
    tmp = self.jsonl_path + '.tmp'
    with open(tmp, 'w') as f:
      f.writelines(json.dumps(r) + '\n' for r in rows)
    os.replace(tmp, self.jsonl_path)

  def write(self, step: int, split: str, metrics: Mapping[str, float]) -> None:
    if not self.is_writer:
      return
    values = {k: float(np.asarray(v)) for k, v in metrics.items()}
    with open(self.jsonl_path, 'a') as f:
      f.write(json.dumps({'step': int(step), 'split': split, **values}) + '\n')
    tb = self._tb_writer(split)
    for k, v in values.items():
      tb.scalar(k, v, step)
    tb.flush()
    if self.console:
      shown = '  '.join(f'{k}={v:.4g}' for k, v in values.items())
      print(f'[{split} step {step}] {shown}', file=sys.stderr, flush=True)

  def close(self) -> None:
    for tb in self._tb.values():
      tb.close()
