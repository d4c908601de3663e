"""Active dendrites (Iyer et al. 2022, "Avoiding catastrophe"): linear units gated by context-reading segments.

Each of the `features` units has `num_segments` dendritic segments; segment j of unit i computes
d_ij = u_ij . c from a context vector c (a task prototype or embedding). The gate picks one segment per unit:

  'absolute_max' (default):  j* = argmax_j |d_ij|,  y_i = yhat_i * sigmoid(d_ij*)
  'max':                     y_i = yhat_i * sigmoid(max_j d_ij)

where yhat = x W + b is the (optionally sparse) feed-forward output. Only the selected segment gets gradient.
A k-winners layer usually follows (see kwinners.py and DendriticMLP below).
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

from common.dendritic.kwinners import KWinners
from common.dendritic.sparse import MASKS, SparseDense, check_sparsity, density_uniform_init, fixed_mask
from common.train.errors import ConfigurationError

GATINGS = ('absolute_max', 'max')


def check_context(context: jax.Array, context_dim: int) -> None:
  if context.ndim != 2 or context.shape[-1] != context_dim:
    raise ConfigurationError(
      f'context has shape {context.shape}; expected (B, context_dim={context_dim}). Pass contexts of width '
      f'{context_dim} or set context_dim={context.shape[-1] if context.ndim else "?"}.'
    )


def gate(yhat: jax.Array, d: jax.Array, gating: str = 'absolute_max') -> jax.Array:
  """yhat (B, U), segment activations d (B, U, S) -> gated output (B, U)."""
  if gating == 'absolute_max':
    idx = jnp.argmax(jnp.abs(d), axis=-1)
    selected = jnp.take_along_axis(d, idx[..., None], axis=-1)[..., 0]
  elif gating == 'max':
    selected = jnp.max(d, axis=-1)
  else:
    raise ConfigurationError(f'gating={gating!r} is unknown; choose one of {GATINGS}.')
  return yhat * jax.nn.sigmoid(selected)


class DendriticSegments(nn.Module):
  """Segment activations d = einsum('usc,bc->bus'): context (B, C) -> (B, units, num_segments).

  Attributes:
    units, num_segments, context_dim: sizes.
    sparsity: fraction of each segment's context weights fixed at zero.
    context_density: expected fraction of non-zero context entries (init scale, Numenta's modified init).
  """

  units: int
  num_segments: int
  context_dim: int
  sparsity: float = 0.0
  context_density: float = 1.0

  @nn.compact
  def __call__(self, context: jax.Array) -> jax.Array:
    if self.num_segments < 1:
      raise ConfigurationError(f'num_segments={self.num_segments} must be at least 1 (segments per unit).')
    check_sparsity('dendrite_sparsity', self.sparsity)
    check_context(context, self.context_dim)
    shape = (self.units, self.num_segments, self.context_dim)
    init = density_uniform_init(self.context_dim, self.context_density, 1.0 - self.sparsity)
    w = self.param('segments', init, shape)
    if self.sparsity > 0:
      mask = self.variable(MASKS, 'segments', lambda: fixed_mask(self.make_rng('params'), shape, self.sparsity, 2))
      w = w * mask.value
    return jnp.einsum('usc,bc->bus', w, context)


class ActiveDendritesDense(nn.Module):
  """A (sparse) dense layer whose units are gated by context segments: (x (B, F), context (B, C)) -> (B, features).

  Attributes:
    features: number of units.
    num_segments: dendritic segments per unit (>= 1).
    context_dim: width of the context vector (checked at call time).
    gating: 'absolute_max' or 'max'.
    sparsity: feed-forward weight sparsity; dendrite_sparsity: segment weight sparsity.
    input_density, context_density: expected non-zero fractions of x and context (init scales).
  """

  features: int
  num_segments: int
  context_dim: int
  gating: str = 'absolute_max'
  sparsity: float = 0.0
  dendrite_sparsity: float = 0.0
  input_density: float = 1.0
  context_density: float = 1.0

  @nn.compact
  def __call__(self, x: jax.Array, context: jax.Array) -> jax.Array:
    if self.gating not in GATINGS:
      raise ConfigurationError(f'gating={self.gating!r} is unknown; choose one of {GATINGS}.')
    yhat = SparseDense(self.features, self.sparsity, self.input_density, name='dense')(x)
    d = DendriticSegments(
      self.features, self.num_segments, self.context_dim, self.dendrite_sparsity, self.context_density, name='segments'
    )(context)
    return gate(yhat, d, self.gating)


class DendriticMLP(nn.Module):
  """Numenta's DendriticMLP: [active-dendrites layer -> k-WTA (or ReLU)] x len(hidden) -> sparse linear head.

  Inputs: a dict {'x': (B, ...), 'context': (B, context_dim)}. Outputs: logits (B, out).

  Attributes:
    hidden: widths of the hidden layers.
    out: number of outputs (one head shared by all tasks).
    use_dendrites: False replaces the active-dendrites layers with plain (sparse) dense layers (the
      "k-winners only" and MLP baselines); the context is then ignored.
    num_segments: segments per unit (>= 1).
    context_dim: context width (checked against the context).
    percent_on: fraction of k-WTA winners; None uses ReLU instead ("dendrites only" / MLP baselines).
    boost_strength, boost_strength_factor, duty_cycle_period, k_inference_factor: KWinners settings.
    weight_sparsity, dendrite_sparsity: fixed sparsity of feed-forward and segment weights.
    context_density: expected fraction of non-zero context entries (init scale).
  """

  hidden: tuple[int, ...] = (256, 256)
  out: int = 10
  use_dendrites: bool = True
  num_segments: int = 10
  context_dim: int = 64
  gating: str = 'absolute_max'
  percent_on: float | None = 0.05
  k_inference_factor: float = 1.0
  boost_strength: float = 0.0
  boost_strength_factor: float = 1.0
  duty_cycle_period: int = 1000
  weight_sparsity: float = 0.5
  dendrite_sparsity: float = 0.0
  context_density: float = 1.0

  @nn.compact
  def __call__(self, inputs, train: bool = False) -> jax.Array:
    if not isinstance(inputs, dict) or 'x' not in inputs:
      raise ConfigurationError("DendriticMLP expects inputs {'x': (B, ...), 'context': (B, context_dim)}.")
    x = inputs['x'].reshape((inputs['x'].shape[0], -1))
    density = 1.0
    for i, width in enumerate(self.hidden):
      if self.use_dendrites:
        if 'context' not in inputs:
          raise ConfigurationError('use_dendrites=True needs a context: pass inputs["context"] or set it False.')
        x = ActiveDendritesDense(
          width,
          self.num_segments,
          self.context_dim,
          self.gating,
          self.weight_sparsity,
          self.dendrite_sparsity,
          density,
          self.context_density,
          name=f'dendrites_{i}',
        )(x, inputs['context'])
      else:
        x = SparseDense(width, self.weight_sparsity, density, name=f'dense_{i}')(x)
      if self.percent_on is None:
        x = nn.relu(x)
        density = 1.0
      else:
        x = KWinners(
          percent_on=self.percent_on,
          k_inference_factor=self.k_inference_factor,
          boost_strength=self.boost_strength,
          boost_strength_factor=self.boost_strength_factor,
          duty_cycle_period=self.duty_cycle_period,
          name=f'kwinners_{i}',
        )(x, train)
        density = self.percent_on
    return SparseDense(self.out, self.weight_sparsity, density, name='head')(x)
