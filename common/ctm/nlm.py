"""Neuron-level models (NLMs): every neuron d maps its own pre-activation history A_d in R^M to z_d.

The D private MLPs are one batched contraction: einsum('bdm,dmh->bdh') with weights of shape (D, M, H), so
there is no loop over neurons. `SharedNLM` is the ablation that uses one MLP for all neurons.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

from common.ctm.synapses import glu


def _uniform(bound: float):
  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -bound, bound)

  return init


def per_neuron_matmul(x: jax.Array, w: jax.Array) -> jax.Array:
  """(D, B, I) x (D, I, O) -> (D, B, O): D independent (B, I) @ (I, O) products."""
  return jnp.einsum('dbi,dio->dbo', x, w)


class SuperLinear(nn.Module):
  """Per-neuron linear maps: (B, D, I) -> (B, D, O), private weights for each of the D neurons.

  Weights w (D, I, O) ~ U(+-1/sqrt(I+O)), bias (D, O) = 0, and a learnable scalar temperature (init 1) that divides
  the output, as in the reference's SuperLinear.
  """

  in_dims: int
  out_dims: int
  shared: bool = False  # one weight matrix for all neurons (ablation)
  neurons_first: bool = False  # x is (D, B, I) -> (D, B, O): the batched contraction needs no transposes

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    d = x.shape[0] if self.neurons_first else x.shape[-2]
    init = _uniform(1.0 / (self.in_dims + self.out_dims) ** 0.5)
    temperature = self.param('temperature', nn.initializers.ones, ())
    if self.shared:
      w = self.param('w', init, (self.in_dims, self.out_dims))
      b = self.param('b', nn.initializers.zeros, (self.out_dims,))
      out = jnp.einsum('...i,io->...o', x, w) + b
    else:
      w = self.param('w', init, (d, self.in_dims, self.out_dims))
      b = self.param('b', nn.initializers.zeros, (d, self.out_dims))
      if self.neurons_first:
        out = per_neuron_matmul(x, w) + b[:, None, :]
      else:
        out = jnp.einsum('bdi,dio->bdo', x, w) + b
    return out / temperature


class NeuronLevelModels(nn.Module):
  """Pre-activation histories (B, D, M) -> post-activations (B, D).

  deep: SuperLinear(M -> 2H) -> GLU -> SuperLinear(H -> 2) -> GLU. shallow: SuperLinear(M -> 2) -> GLU.
  shared=True replaces the private per-neuron weights by one MLP shared by all neurons (the paper's ablation).
  """

  memory_length: int
  hidden: int = 8
  deep: bool = True
  shared: bool = False
  dropout: float = 0.0
  neurons_first: bool = False  # trace (D, B, M) -> (D, B), the layout the CTM's tick keeps (faster on CPU)

  @nn.compact
  def __call__(self, trace: jax.Array, train: bool = False) -> jax.Array:
    x = trace
    if self.deep:
      x = nn.Dropout(self.dropout, deterministic=not train)(x)
      x = glu(SuperLinear(self.memory_length, 2 * self.hidden, self.shared, self.neurons_first, name='layer1')(x))
      x = nn.Dropout(self.dropout, deterministic=not train)(x)
      x = glu(SuperLinear(self.hidden, 2, self.shared, self.neurons_first, name='layer2')(x))
    else:
      x = nn.Dropout(self.dropout, deterministic=not train)(x)
      x = glu(SuperLinear(self.memory_length, 2, self.shared, self.neurons_first, name='layer1')(x))
    return x[..., 0]
