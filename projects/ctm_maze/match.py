"""Parameter matching: the LSTM_HIDDEN of configs/ctm_maze/lstm_maze.gin whose parameter count is closest to the CTM of
configs/ctm_maze/ctm_maze.gin (both counted by a dry run of the configs themselves, so nothing is restated here).

  .venv/bin/python -m projects.ctm_maze.match [CTM_GIN LSTM_GIN]
"""

import contextlib
import io
import sys

from launch import api

CTM_GIN = 'configs/ctm_maze/ctm_maze.gin'
LSTM_GIN = 'configs/ctm_maze/lstm_maze.gin'


def count(gin_file: str, bindings=()) -> int:
  with contextlib.redirect_stdout(io.StringIO()):  # the dry run prints the parameter table
    return int(api.execute([gin_file], list(bindings), workdir=None, dry_run=True)['num_params'])


def match_hidden(target: int, lstm_gin: str = LSTM_GIN) -> tuple[int, int]:
  """Binary search over the width (the count grows with it), then the closer neighbour: (hidden, its count)."""
  lstm = lambda h: count(lstm_gin, [f'LSTM_HIDDEN={h}'])  # noqa: E731
  lo, hi = 1, 2048
  while lo < hi:
    mid = (lo + hi) // 2
    lo, hi = (mid + 1, hi) if lstm(mid) < target else (lo, mid)
  best = min((lo - 1, lo), key=lambda h: abs(lstm(h) - target))
  return best, lstm(best)


if __name__ == '__main__':
  ctm_gin, lstm_gin = sys.argv[1:3] if len(sys.argv) > 2 else (CTM_GIN, LSTM_GIN)
  target = count(ctm_gin)
  hidden, n = match_hidden(target, lstm_gin)
  print(f'CTM ({ctm_gin}): {target} params; LSTM_HIDDEN={hidden}: {n} params ({lstm_gin})')
