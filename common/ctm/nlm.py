"""Neuron-level models (NLMs): every neuron d maps its own pre-activation history A_d in R^M to z_d.

The D private MLPs are one batched contraction over all neurons (weights of shape (D, M, H)), so there is no loop
over neurons. `shared=True` is the ablation that uses one MLP for all neurons.

Layouts (`layout`, the axis order of the input): 'bdi' (batch, neurons, features; the reference's), 'dbi', and
'dib' (neurons, features, batch), which the CTM's tick uses: with the batch as the minor axis the contraction over
the few (M or H) features is a short sum of broadcast products that XLA fuses into one vectorised loop, about 3x
faster on CPU than the batched matmul of tiny (B, M) @ (M, H) blocks. Its gradient is written by hand
(`_dib_linear`) because the automatic one reduces over the batch once per (feature, output) pair, and over every
activation for the temperature.

On CPU, deep private NLMs in the 'dib' layout (the CTM's) in float32, without dropout or LayerNorm, run as one fused
kernel instead (common/ctm/fused_nlm.py; switch FUSED), the same function to float32 rounding with the same
parameters.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

from common.ctm import fused_nlm
from common.ctm.columns import SAVED, normalise
from common.ctm.synapses import glu

LAYOUTS = ('bdi', 'dbi', 'dib')
FUSED = True  # deep private 'dib' NLMs in float32 as one fused kernel on CPU (common/ctm/fused_nlm.py); tests compare


def _uniform(bound: float):
  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -bound, bound)

  return init


def _dib_forward(x: jax.Array, w: jax.Array) -> jax.Array:
  # out[d, o, b] = sum_i w[d, i, o] x[d, i, b], unrolled over the (few) input features i.
  out = w[:, 0, :, None] * x[:, 0, None, :]
  for i in range(1, x.shape[1]):
    out = out + w[:, i, :, None] * x[:, i, None, :]
  return out


@jax.custom_vjp
def _dib_linear(x: jax.Array, w: jax.Array, b: jax.Array, temperature: jax.Array) -> jax.Array:
  """(x (D, I, B) . w (D, I, O) + b (D, O)) / temperature -> (D, O, B), SuperLinear's map in the 'dib' layout.

  Its gradient is written by hand for the temperature: d/dT of u/T is -sum(g * u) / T^2, a reduction over every
  activation (D * O * B values, e.g. 262k per tick), which XLA:CPU emits as a slow reduce-window (about 0.2 ms per
  tick in a profile of the parity-16 step). The same number is sum(w * dw) + sum(b * db) over the parameters' far
  fewer entries, since u is linear in w and b: -(sum(w * dw) + sum(b * db)) / T, with dw and db computed anyway.
  """
  return (_dib_forward(x, w) + b[:, :, None]) / temperature


def _dib_linear_fwd(x, w, b, temperature):
  return _dib_linear(x, w, b, temperature), (x, w, b, temperature)


def _dib_linear_bwd(res, g):
  x, w, b, temperature = res
  g = g / temperature
  # dx[d, i, b] = sum_o w[d, i, o] g[d, o, b] is the same kind of short sum (over O); dw is one batched matmul.
  dx = _dib_forward(g, jnp.swapaxes(w, 1, 2))
  dw = jnp.einsum('dib,dob->dio', x, g)
  db = jnp.sum(g, axis=-1)
  dt = -(jnp.sum(w * dw) + jnp.sum(b * db)) / temperature
  return dx, dw, db, dt


_dib_linear.defvjp(_dib_linear_fwd, _dib_linear_bwd)


def per_neuron_matmul(x: jax.Array, w: jax.Array, layout: str = 'bdi') -> jax.Array:
  """x in layout 'bdi' or 'dbi' with features I, w (D, I, O) -> the same layout with features O ('dib' is
  _dib_linear, with the bias and temperature)."""
  if layout == 'dbi':
    return jnp.einsum('dbi,dio->dbo', x, w)
  return jnp.einsum('bdi,dio->bdo', x, w)


class SuperLinear(nn.Module):
  """Per-neuron linear maps: (B, D, I) -> (B, D, O) (or the other `layout`s), private weights for each neuron.

  Weights w (D, I, O) ~ U(+-1/sqrt(I+O)), bias (D, O) = 0, and a learnable scalar temperature (init 1) that divides
  the output, as in the reference's SuperLinear. do_norm: LayerNorm over the I input features of every neuron first
  (the reference's do_layernorm_nlm), with one (I,) scale and bias shared by all neurons, as the reference's
  nn.LayerNorm(in_dims); torch's epsilon 1e-5.
  """

  in_dims: int
  out_dims: int
  shared: bool = False  # one weight matrix for all neurons (ablation)
  layout: str = 'bdi'
  do_norm: bool = False

  @nn.compact
  def __call__(self, x: jax.Array, weights_only: bool = False):
    """The layer's output; weights_only: its (w, b, temperature) instead (for fused_nlm, which applies them)."""
    d = x.shape[-2] if self.layout == 'bdi' else x.shape[0]
    if self.do_norm:
      axis = 1 if self.layout == 'dib' else -1
      scale = self.param('norm_scale', nn.initializers.ones, (self.in_dims,))
      bias = self.param('norm_bias', nn.initializers.zeros, (self.in_dims,))
      if self.layout == 'dib':
        scale, bias = scale[:, None], bias[:, None]
      x = normalise(x, axis) * scale + bias
    init = _uniform(1.0 / (self.in_dims + self.out_dims) ** 0.5)
    temperature = self.param('temperature', nn.initializers.ones, ())
    if self.shared:
      w = self.param('w', init, (self.in_dims, self.out_dims))
      b = self.param('b', nn.initializers.zeros, (self.out_dims,))
      if self.layout == 'dib':
        out = jnp.einsum('dib,io->dob', x, w) + b[:, None]
      else:
        out = jnp.einsum('...i,io->...o', x, w) + b
    else:
      w = self.param('w', init, (d, self.in_dims, self.out_dims))
      b = self.param('b', nn.initializers.zeros, (d, self.out_dims))
      if weights_only:
        return w, b, temperature
      if self.layout == 'dib':
        return _dib_linear(x, w, b, temperature)
      bias = {'bdi': b, 'dbi': b[:, None, :]}[self.layout]
      out = per_neuron_matmul(x, w, self.layout) + bias
    return out / temperature


class NeuronLevelModels(nn.Module):
  """Pre-activation histories (B, D, M) -> post-activations (B, D); with layout 'dbi' (D, B, M) -> (D, B), with
  'dib' (D, M, B) -> (D, B).

  deep: SuperLinear(M -> 2H) -> GLU -> SuperLinear(H -> 2) -> GLU. shallow: SuperLinear(M -> 2) -> GLU.
  shared=True replaces the private per-neuron weights by one MLP shared by all neurons (the paper's ablation).
  layer_norm=True: each SuperLinear normalises its input first (the reference's do_layernorm_nlm; the paper never
  uses it).
  """

  memory_length: int
  hidden: int = 8
  deep: bool = True
  shared: bool = False
  dropout: float = 0.0
  layout: str = 'bdi'
  layer_norm: bool = False

  @nn.compact
  def __call__(self, trace: jax.Array, train: bool = False) -> jax.Array:
    axis = 1 if self.layout == 'dib' else -1
    x = trace
    x = nn.Dropout(self.dropout, deterministic=not train)(x)
    norm = self.layer_norm
    dropped = train and self.dropout > 0
    if self.deep and self.layout == 'dib' and not (self.shared or norm or dropped) and _fusable(trace):
      w1, b1, t1 = SuperLinear(self.memory_length, 2 * self.hidden, layout='dib', name='layer1')(x, True)
      w2, b2, t2 = SuperLinear(self.hidden, 2, layout='dib', name='layer2')(x, True)  # x: only its D is read
      if self.has_variable(SAVED, 'z'):  # the output saved by an earlier pass over the same inputs (history_scan)
        return fused_nlm.given_deep_nlm(x, w1, b1, t1, w2, b2, t2, self.get_variable(SAVED, 'z'))
      z = fused_nlm.deep_nlm(x, w1, b1, t1, w2, b2, t2)
      if self.is_mutable_collection(SAVED):
        self.put_variable(SAVED, 'z', z)
      return z
    if self.deep:
      x = glu(SuperLinear(self.memory_length, 2 * self.hidden, self.shared, self.layout, norm, name='layer1')(x), axis)
      x = nn.Dropout(self.dropout, deterministic=not train)(x)
      x = glu(SuperLinear(self.hidden, 2, self.shared, self.layout, norm, name='layer2')(x), axis)
    else:
      x = glu(SuperLinear(self.memory_length, 2, self.shared, self.layout, norm, name='layer1')(x), axis)
    return jnp.squeeze(x, axis)


def _fusable(trace: jax.Array) -> bool:
  # Only where JAX runs on the CPU: on accelerators the XLA ops below are the measured path; no kernel is built there.
  return FUSED and trace.dtype == jnp.float32 and jax.default_backend() == 'cpu' and fused_nlm.available()
