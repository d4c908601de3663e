"""LSTM baseline unrolled for T internal ticks with the CTM's interface (reference models/lstm.py in spirit).

Per tick: q = Dense(h), o = attention(q, keys/values from the same backbone + kv projection as the CTM),
(h, c) = LSTMCell(o), y_t = Dense(h). Certainty and the output dict are the CTM's, so the same tasks and loss
apply (the reference trains its LSTM baselines with the last-tick loss; set the task's use_most_certain=False).
"""

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from common.ctm.ctm import TickAttention, check_common
from common.ctm.losses import certainty
from common.train.errors import ConfigurationError


class LSTMTick(nn.Module):
  hidden: int
  d_input: int
  heads: int
  out_dims: int
  prediction_reshaper: Sequence[int]
  dropout: float

  @nn.compact
  def __call__(self, carry, consts, train: bool = False):
    c, h = carry
    q = nn.Dense(self.d_input, name='q_proj')(h)
    o, _ = TickAttention(self.d_input, self.heads, self.dropout, name='attention')(
      q, consts['keys'], consts['values'], train
    )
    (c, h), _ = nn.OptimizedLSTMCell(self.hidden, name='cell')((c, h), o)
    y = nn.Dense(self.out_dims, name='output_projector')(h)
    return (c, h), (y, certainty(y, self.prediction_reshaper))


class LSTMBaseline(nn.Module):
  """(inputs) -> {'predictions': (B, T, out_dims), 'certainties': (B, T)}."""

  iterations: int = 16
  hidden: int = 256
  d_input: int = 64
  heads: int = 4
  out_dims: int = 32
  prediction_reshaper: Sequence[int] = (-1,)
  dropout: float = 0.0
  backbone: Any = None

  def __post_init__(self):
    super().__post_init__()
    check_common(self.iterations, self.d_input, self.heads)
    if self.hidden < 1:
      raise ConfigurationError(f'hidden={self.hidden} must be at least 1.')

  def setup(self):
    self.kv_proj = nn.Dense(self.d_input)
    self.kv_norm = nn.LayerNorm()
    self.attn_key = nn.Dense(self.d_input)
    self.attn_value = nn.Dense(self.d_input)
    self.start_h = self.param('start_h', nn.initializers.zeros, (self.hidden,))
    self.start_c = self.param('start_c', nn.initializers.zeros, (self.hidden,))
    self.tick = LSTMTick(
      self.hidden, self.d_input, self.heads, self.out_dims, tuple(self.prediction_reshaper), self.dropout
    )

  def __call__(self, x: jax.Array, train: bool = False) -> dict[str, jax.Array]:
    tokens = self.backbone(x, train=train) if self.backbone is not None else x
    kv = self.kv_norm(self.kv_proj(tokens))
    b, s = kv.shape[:2]
    d_head = self.d_input // self.heads
    consts = {
      'keys': self.attn_key(kv).reshape(b, s, self.heads, d_head),
      'values': self.attn_value(kv).reshape(b, s, self.heads, d_head),
    }
    carry = (jnp.broadcast_to(self.start_c, (b, self.hidden)), jnp.broadcast_to(self.start_h, (b, self.hidden)))

    def body(mdl, c, _):
      return mdl.tick(c, consts, train)

    scan = nn.scan(
      body, variable_broadcast='params', split_rngs={'params': False, 'dropout': True}, length=self.iterations
    )
    _, (ys, cs) = scan(self, carry, None)
    return {'predictions': jnp.swapaxes(ys, 0, 1), 'certainties': jnp.swapaxes(cs, 0, 1)}
