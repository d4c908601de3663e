"""Fourier-KArAt (Kolmogorov-Arnold Attention, Maity et al. 2025): a learnable operator in place of softmax.

For each head, the row of attention scores a in R^N (N keys) is mapped by a KAN layer of Fourier edge functions
    phi_pq(a_p) = sum_{m=1..G} c_pqm cos(m a_p) + s_pqm sin(m a_p)         (base activation b = 0, the paper's best)
  full:      sigma(a)_q = sum_p phi_pq(a_p),                  q = 1..N   (N x N edge functions per head)
  low rank:  sigma(a) = W Phi(a),  Phi: R^N -> R^r (r << N), W in R^{N x r}   (the paper's modular variant)
computed as basis-then-contraction: the 2G Fourier terms of the (B, H, N, N) scores are concatenated basis-major
into (B, H, N, 2G*N) and contracted with the per-head coefficients, one batched GEMM. The attention weights are
used as they come out (no softmax or row normalisation), as in the paper.

Parametrisations: 'blockwise' (one operator per block: create one FourierKArAt per block) and 'universal' (one
operator per head shared by all blocks: create it once and pass the same instance to every block; see vit.py).

Deviation: the paper draws c, s ~ N(0, 1); we scale that by 1/sqrt(2G N) so the initial attention outputs have
unit-order magnitude for any N and G (with N(0, 1) the 2G*N-term sums start at about sqrt(2G N)).
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

from common.kan.bases import fourier_terms
from common.train.errors import ConfigurationError


class FourierKArAt(nn.Module):
  """scores (B, H, Nq, N) -> attention weights (B, H, Nq, N).

  Attributes:
    num_heads: H (each head has its own operator).
    num_keys: N, the score-row length (fixed by the token count).
    grid_size: G Fourier frequencies.
    rank: r for the low-rank variant; None for the full N x N operator.
  """

  num_heads: int
  num_keys: int
  grid_size: int = 3
  rank: int | None = None

  def __post_init__(self):
    if self.grid_size < 1:
      raise ConfigurationError(f'FourierKArAt.grid_size={self.grid_size} must be at least 1 frequency.')
    if self.rank is not None and not 1 <= self.rank <= self.num_keys:
      raise ConfigurationError(
        f'FourierKArAt.rank={self.rank} must be between 1 and num_keys={self.num_keys} (or None for full rank).'
      )
    super().__post_init__()

  @nn.compact
  def __call__(self, scores: jax.Array) -> jax.Array:
    b, h, nq, n = scores.shape
    if n != self.num_keys or h != self.num_heads:
      raise ConfigurationError(
        f'FourierKArAt built for num_heads={self.num_heads}, num_keys={self.num_keys} got scores {scores.shape}.'
      )
    out = self.rank or n
    features = jnp.concatenate(fourier_terms(scores, self.grid_size), axis=-1)  # (B, H, Nq, 2G*N)
    std = 1.0 / jnp.sqrt(2.0 * self.grid_size * n)
    coef = self.param('coef', nn.initializers.normal(std), (h, 2 * self.grid_size * n, out))
    y = jnp.einsum('bhqf,hfr->bhqr', features, coef)
    if self.rank is not None:
      w = self.param('w', nn.initializers.normal(1.0 / jnp.sqrt(self.rank)), (h, self.rank, n))
      y = jnp.einsum('bhqr,hrn->bhqn', y, w)
    return y
