"""Parameter matching: the LSTM width whose parameter count is closest to the CTM's (printed, then set in gin).

.venv/bin/python -m projects.ctm_parity.match
"""

import jax
import numpy as np

from common.ctm.backbones import ParityBackbone
from common.ctm.ctm import CTM
from common.ctm.lstm import LSTMBaseline
from common.train.state import count_params


def count(model, length=16) -> int:
  x = np.ones((2, length), np.float32)
  return count_params(jax.eval_shape(model.init, jax.random.PRNGKey(0), x)['params'])


def ctm_params(d_model=64, d_input=32, memory_length=8, **kw) -> int:
  return count(
    CTM(
      iterations=16,
      d_model=d_model,
      d_input=d_input,
      heads=2,
      n_synch_out=32,
      n_synch_action=32,
      memory_length=memory_length,
      memory_hidden_dims=4,
      n_random_pairing_self=4,
      out_dims=32,
      prediction_reshaper=(16, 2),
      backbone=ParityBackbone(d_input),
      **kw,
    )
  )


def lstm_params(hidden: int, d_input=32) -> int:
  return count(
    LSTMBaseline(
      iterations=16,
      hidden=hidden,
      d_input=d_input,
      heads=2,
      out_dims=32,
      prediction_reshaper=(16, 2),
      backbone=ParityBackbone(d_input),
    )
  )


def match_lstm_hidden(target: int) -> int:
  """Binary search (the count grows with the width), then the closer of the two neighbours."""
  lo, hi = 1, 1024
  while lo < hi:
    mid = (lo + hi) // 2
    lo, hi = (mid + 1, hi) if lstm_params(mid) < target else (lo, mid)
  return min((lo - 1, lo), key=lambda h: abs(lstm_params(h) - target))


if __name__ == '__main__':
  target = ctm_params()
  h = match_lstm_hidden(target)
  print(f'CTM (configs/ctm_parity/ctm_t16.gin): {target} params; LSTM_HIDDEN={h}: {lstm_params(h)} params')
  for kw in (dict(shared_nlm=True), dict(readout='post')):
    print(f'CTM {kw}: {ctm_params(**kw)} params')
