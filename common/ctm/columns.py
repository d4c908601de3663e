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

import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax.ad_checkpoint import checkpoint_name

COMPUTE_DTYPES = {'float32': None, 'bfloat16': jnp.bfloat16}
MATMUL_NAME = 'column_matmul'  # checkpoint_name of transposed_matmul's output in ColumnDense
SAVED = 'saved_matmuls'  # ColumnDense's matmul outputs: captured when mutable, reused when given (history_scan)


def mixed_einsum(spec: str, a: jax.Array, b: jax.Array, compute_dtype: Any = None) -> jax.Array:
  """jnp.einsum, or with compute_dtype (e.g. bfloat16): both operands cast to it, products accumulated in float32."""
  if compute_dtype is None:
    return jnp.einsum(spec, a, b)
  return jnp.einsum(spec, a.astype(compute_dtype), b.astype(compute_dtype), preferred_element_type=jnp.float32)


def mixed_dense(features: int, compute_dtype: Any = None, name: str | None = None) -> nn.Dense:
  """nn.Dense (float32 parameters); with compute_dtype its matmul runs in that dtype and accumulates in float32."""
  if compute_dtype is None:
    return nn.Dense(features, name=name)
  dot = functools.partial(jax.lax.dot_general, preferred_element_type=jnp.float32)
  return nn.Dense(features, dtype=compute_dtype, dot_general=dot, name=name)


class ColumnDense(nn.Module):
  """y = kernel^T x + bias for x (in, B) -> (out, B); nn.Dense's parameters and initialisation.

  compute_dtype (e.g. jnp.bfloat16): the matmul's operands in that dtype, accumulated in float32; parameters and the
  output stay float32.
  """

  features: int
  use_bias: bool = True
  compute_dtype: Any = None

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    kernel = self.param('kernel', nn.initializers.lecun_normal(), (x.shape[0], self.features))
    if self.compute_dtype is None and self.has_variable('params', 'kernel_t'):
      # The caller hoisted kernel^T out of its loop (with_transposed_kernels): every matmul then reads a row-major
      # operand (see transposed_matmul).
      kernel_t = self.get_variable('params', 'kernel_t')
      if self.has_variable(SAVED, 'y'):  # the output saved by an earlier pass over the same inputs (history_scan)
        y = given_matmul(kernel, kernel_t, x, self.get_variable(SAVED, 'y'))
      else:
        # Named so that a rematerialising policy can save it as it saves plain dots (MATMUL_NAME).
        y = checkpoint_name(transposed_matmul(kernel, kernel_t, x), MATMUL_NAME)
        if self.is_mutable_collection(SAVED):
          self.put_variable(SAVED, 'y', y)
    else:
      y = mixed_einsum('io,ib->ob', kernel, x, self.compute_dtype)
    if self.use_bias:
      y = y + self.param('bias', nn.initializers.zeros, (self.features,))[:, None]
    return y


@jax.custom_vjp
def transposed_matmul(kernel: jax.Array, kernel_t: jax.Array, x: jax.Array) -> jax.Array:
  """kernel^T x for kernel (in, out), given kernel_t = kernel^T (out, in) too; x (in, B) -> (out, B).

  Why: XLA:CPU runs the matmul of kernel (in, out) contracted over its first axis ('io,ib->ob', what autodiff of
  ColumnDense's einsum gives) at well under the speed of the same product with a row-major (out, in) operand; in the
  parity-16 train step the synapses' forward matmul took 4.35 ms per step that way and 2.88 ms this way
  (`python -m benchmarks.profile_ctm`, projects/ctm_parity/README.md). Autodiff of 'oi,ib->ob' would move the slow
  form to the input gradient ('oi,ob->ib'), so the gradient is written here: the forward reads kernel_t, the input
  gradient kernel ('io,ob->ib') and the weight gradient comes out as (out, in), the cotangent of kernel_t (whose
  transpose, outside the loop, gives kernel's). kernel itself gets no cotangent from here: pass kernel_t = kernel.T
  computed from the same parameter, as with_transposed_kernels does, hoisted out of the tick loop.
  """
  return jnp.einsum('oi,ib->ob', kernel_t, x)


def _transposed_matmul_fwd(kernel, kernel_t, x):
  return transposed_matmul(kernel, kernel_t, x), (kernel, x)


def _transposed_matmul_bwd(residuals, g):
  kernel, x = residuals
  return None, jnp.einsum('ob,ib->oi', g, x), jnp.einsum('io,ob->ib', kernel, g)


transposed_matmul.defvjp(_transposed_matmul_fwd, _transposed_matmul_bwd)


@jax.custom_vjp
def given_matmul(kernel: jax.Array, kernel_t: jax.Array, x: jax.Array, y: jax.Array) -> jax.Array:
  """y, known to equal transposed_matmul(kernel, kernel_t, x), with that function's gradient (none for y)."""
  return y


given_matmul.defvjp(
  lambda kernel, kernel_t, x, y: (y, (kernel, x)),
  lambda residuals, g: (*_transposed_matmul_bwd(residuals, g), None),
)


def with_transposed_kernels(params: dict) -> dict:
  """params with 'kernel_t' = kernel^T beside every 2-D 'kernel' (the ColumnDense layers'), for ColumnDense's fast
  path. Call it outside a loop that applies the layers many times, so each transpose runs once per call."""
  if not isinstance(params, dict):
    return params
  out = {k: with_transposed_kernels(v) for k, v in params.items()}
  if getattr(params.get('kernel'), 'ndim', 0) == 2:
    out['kernel_t'] = params['kernel'].T
  return out


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
  compute_dtype (e.g. jnp.bfloat16): the projections and both contractions take operands in that dtype and
  accumulate in float32 (dot products); the softmax stays float32.
  """

  d_input: int
  heads: int
  dropout: float = 0.0
  compute_dtype: Any = None
  project_query: bool = True  # False: q arrives already projected (the caller folded 'query' into its own matmul)
  project_out: bool = True  # False: return the heads' concatenated outputs; the caller folds 'out' into its next matmul

  @nn.compact
  def __call__(self, q, keys, values, train: bool = False):
    d_head, cd = self.d_input // self.heads, self.compute_dtype
    if self.project_query:
      q = ColumnDense(self.d_input, compute_dtype=cd, name='query')(q)
    q = q.reshape(self.heads, d_head, q.shape[-1])
    if cd is None:
      logits = jnp.sum(q[:, :, None] * keys, axis=1)  # (heads, S, B)
    else:
      logits = mixed_einsum('hdb,hdsb->hsb', q, keys, cd)
    weights = jax.nn.softmax(logits * (1.0 / d_head**0.5), axis=1)
    dropped = nn.Dropout(self.dropout, deterministic=not train)(weights)
    if cd is None:
      out = jnp.sum(dropped[:, None] * values, axis=2)
    else:
      out = mixed_einsum('hsb,hdsb->hdb', dropped, values, cd)
    out = out.reshape(self.d_input, -1)
    return (ColumnDense(self.d_input, compute_dtype=cd, name='out')(out) if self.project_out else out), weights
