"""Timing helpers shared by every benchmark: warm-up excluded, median of many, results as table and JSON.

A benchmark module `benchmarks/bench_<family>.py` defines `run(quick: bool) -> list[Row]` and is picked up
by `python -m benchmarks.run`. Ratios are always computed from numbers measured in the same run.
"""

import dataclasses
import json
import os
import platform
import statistics
import time
from typing import Any, Callable

import jax


@dataclasses.dataclass
class Row:
  """One line of a benchmark table. `peer_ms` is None when no peer was measured (its reason in `note`)."""

  workload: str
  ours_ms: float
  peer: str = ''
  peer_ms: float | None = None
  note: str = ''
  extra: dict[str, Any] = dataclasses.field(default_factory=dict)

  @property
  def ratio(self) -> float | None:
    """peer time / our time: above 1 means we are faster."""
    return None if self.peer_ms is None else self.peer_ms / self.ours_ms


def time_fn(
  fn: Callable[[], Any], *, warmup: int = 3, repeats: int = 30, sync: Callable[[Any], Any] | None = None
) -> float:
  """Median wall time of `fn()` in milliseconds. `sync` blocks on the result (default: jax.block_until_ready)."""
  sync = sync or jax.block_until_ready
  for _ in range(warmup):
    sync(fn())
  times = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    sync(fn())
    times.append((time.perf_counter() - t0) * 1e3)
  return statistics.median(times)


def machine() -> dict[str, Any]:
  return {
    'platform': platform.platform(),
    'processor': platform.processor() or platform.machine(),
    'cpu_count': os.cpu_count(),
    'jax': jax.__version__,
    'devices': [str(d) for d in jax.devices()],
  }


def format_table(rows: list[Row]) -> str:
  header = f'{"workload":<48} {"ours ms":>10} {"peer":<16} {"peer ms":>10} {"ratio":>8}  note'
  lines = [header, '-' * len(header)]
  for r in rows:
    peer_ms = f'{r.peer_ms:10.2f}' if r.peer_ms is not None else f'{"-":>10}'
    ratio = f'{r.ratio:7.2f}x' if r.ratio is not None else f'{"-":>8}'
    lines.append(f'{r.workload:<48} {r.ours_ms:10.2f} {r.peer:<16} {peer_ms} {ratio}  {r.note}')
  return '\n'.join(lines)


def write_json(rows: list[Row], path: str) -> None:
  os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
  payload = {'machine': machine(), 'rows': [{**dataclasses.asdict(r), 'ratio': r.ratio} for r in rows]}
  with open(path, 'w') as f:
    json.dump(payload, f, indent=2)
