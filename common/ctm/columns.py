"""Layers for the column layout: features first, batch last, so an array of B examples is (F, B).

Why: the CTM's tick keeps the pre-activation history as (D, M, B) so that the neuron-level models run as vectorised
loops over the batch (common/ctm/nlm.py). If the rest of the tick were batch-major (B, F), every tick would
transpose the synapse output into the history and the gradient back out, and XLA on CPU fuses those transposes
into the surrounding elementwise loops, where the strided reads stop vectorisation (measured: the transposed
fusions cost about a quarter of the parity-16 training step). In the column layout nothing is transposed inside the
tick.

Parameters have the names, shapes and initialisers of flax's nn.Dense and nn.LayerNorm (kernel (in, out), bias,
scale), so a model keeps the same parameter tree (and the same initial values) whichever layout it runs in.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp


class ColumnDense(nn.Module):
  """y = kernel^T x + bias for x (in, B) -> (out, B); nn.Dense's parameters and initialisation."""

  features: int
  use_bias: bool = True

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    kernel = self.param('kernel', nn.initializers.lecun_normal(), (x.shape[0], self.features))
    y = jnp.einsum('io,ib->ob', kernel, x)
    if self.use_bias:
      y = y + self.param('bias', nn.initializers.zeros, (self.features,))[:, None]
    return y


class ColumnLayerNorm(nn.Module):
  """LayerNorm over the feature axis 0 of x (F, B); nn.LayerNorm's parameters ('scale', 'bias').

  The variance is the two-pass mean((x - mean)^2) and epsilon defaults to 1e-5, as torch.nn.LayerNorm (the CTM
  reference); `layer_norm` below is the same function for batch-major arrays.
  """

  epsilon: float = 1e-5

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    scale = self.param('scale', nn.initializers.ones, (x.shape[0],))
    bias = self.param('bias', nn.initializers.zeros, (x.shape[0],))
    return normalise(x, 0, self.epsilon) * scale[:, None] + bias[:, None]


def normalise(x: jax.Array, axis: int, epsilon: float = 1e-5) -> jax.Array:
  """(x - mean) / sqrt(var + epsilon) along `axis`, with the two-pass variance."""
  centred = x - jnp.mean(x, axis=axis, keepdims=True)
  return centred * jax.lax.rsqrt(jnp.mean(centred * centred, axis=axis, keepdims=True) + epsilon)


def layer_norm(epsilon: float = 1e-5, name: str | None = None) -> nn.LayerNorm:
  """The batch-major LayerNorm matching ColumnLayerNorm (torch's epsilon and two-pass variance)."""
  return nn.LayerNorm(epsilon=epsilon, use_fast_variance=False, name=name)


class ColumnAttention(nn.Module):
  """Single-query multi-head attention, column layout (torch.nn.MultiheadAttention's maths, as TickAttention).

  q (d_input, B); keys, values (heads, d_head, S, B) -> (d_input, B), attention weights (heads, S, B). The
  contractions over d_head and S are broadcast products summed over a leading axis, vectorised over the batch.
  """

  d_input: int
  heads: int
  dropout: float = 0.0

  @nn.compact
  def __call__(self, q, keys, values, train: bool = False):
    d_head = self.d_input // self.heads
    q = ColumnDense(self.d_input, name='query')(q).reshape(self.heads, d_head, 1, q.shape[-1])
    logits = jnp.sum(q * keys, axis=1) * (1.0 / d_head**0.5)  # (heads, S, B)
    weights = jax.nn.softmax(logits, axis=1)
    dropped = nn.Dropout(self.dropout, deterministic=not train)(weights)
    out = jnp.sum(dropped[:, None] * values, axis=2).reshape(self.d_input, q.shape[-1])
    return ColumnDense(self.d_input, name='out')(out), weights
