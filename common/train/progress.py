"""A progress bar with rate and ETA whose clock starts after the first (compiling) step."""

import sys
import time


class Progress:
  def __init__(self, total_steps: int, first_step: int = 0, *, stream=None, width: int = 30):
    self.total = total_steps
    self.first = first_step
    self.stream = stream or sys.stderr
    self.width = width
    self.tty = hasattr(self.stream, 'isatty') and self.stream.isatty()
    self._t0 = None  # set after the first step, so the compile is excluded from the rate
    self._s0 = first_step
    self.compile_seconds = None
    self._start = time.perf_counter()

  def first_step_done(self, step: int) -> None:
    self.compile_seconds = time.perf_counter() - self._start
    self._t0 = time.perf_counter()
    self._s0 = step

  def rate(self, step: int) -> float:
    if self._t0 is None or step <= self._s0:
      return 0.0
    return (step - self._s0) / max(time.perf_counter() - self._t0, 1e-9)

  def update(self, step: int, extra: str = '') -> None:
    rate = self.rate(step)
    eta = (self.total - step) / rate if rate > 0 else float('nan')
    frac = step / max(self.total, 1)
    filled = int(self.width * frac)
    bar = '#' * filled + '.' * (self.width - filled)
    line = f'[{bar}] {step}/{self.total} {frac:6.1%}  {rate:8.1f} steps/s  ETA {_fmt(eta)}  {extra}'
    if self.tty:
      self.stream.write('\r' + line)
    else:
      self.stream.write(line + '\n')
    self.stream.flush()

  def close(self) -> None:
    if self.tty:
      self.stream.write('\n')
      self.stream.flush()


def _fmt(seconds: float) -> str:
  if seconds != seconds:  # NaN: rate unknown yet
    return '--:--'
  m, s = divmod(int(seconds), 60)
  h, m = divmod(m, 60)
  return f'{h:d}:{m:02d}:{s:02d}' if h else f'{m:02d}:{s:02d}'
