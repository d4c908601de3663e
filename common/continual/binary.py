"""Binary-weight continual learners: the metaplastic BNN and the variational mean-field (field-space) learner.

Metaplastic BNN (Laborieux et al., Nat. Commun. 2021), the baseline of the statistical-mechanics seed:
  BinaryDense keeps real hidden weights W_h and computes with sign(W_h) (straight-through gradient).
  `metaplastic_scaling(m)` runs after the optimizer: an update that would shrink |W_h| (push it towards a
  sign flip) is multiplied by f_meta = 1 - tanh^2(m W_h); updates that grow |W_h| pass. Consolidated weights
  (large |W_h|) become hard to flip. m = 0 is the naive BNN.

Variational mean-field learner (Li, Huang, Zou & Huang 2022, "Statistical mechanics of continual learning:
variational principle and mean-field potential"):
  Each binary weight has a mean-field posterior q(w = +-1) with field theta: m = tanh(theta). MeanFieldDense
  draws the preactivation from its Gaussian field approximation
      h ~ N( sum_i m_i x_i / sqrt(N),  sum_i (1 - m_i^2) x_i^2 / N )
  (one reparameterised sample per example during training), so training is gradient descent in field space,
  where the discrete weights have no gradient. Evaluation uses the binary network sign(theta).
  `VariationalBinary` adds  strength * KL(q_theta || q_prior)  to the loss from the second task on, with the
  prior = the posterior left by the previous task (the first task trains without a prior: a KL to the uniform
  prior would pull every field to zero and, summed over 85k weights, swamp the task loss): the previous task is
  the prior and the reference of the
  Franz-Parisi potential, and weights with |m| near 1 (low uncertainty) are expensive to move.
  Deviation: the paper propagates the Gaussian field statistics through the layers analytically; here each
  layer samples its preactivation from them (a stochastic estimate of the same objective).
"""

import dataclasses
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from common.continual.learners import Learner
from common.train.errors import ConfigurationError

FIELD = 'field'


def sign_ste(w: jax.Array) -> jax.Array:
  """sign(w) (+1 at 0) forward, identity gradient backward."""
  binary = jnp.where(w >= 0, 1.0, -1.0).astype(w.dtype)
  return w + jax.lax.stop_gradient(binary - w)


class BinaryDense(nn.Module):
  """Dense layer with weights sign(W_h) and a real bias; output scaled by 1/sqrt(fan_in). (B, n) -> (B, features)."""

  features: int
  use_bias: bool = True
  init_scale: float = 0.01

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    n = x.shape[-1]
    hidden = self.param('kernel', nn.initializers.normal(self.init_scale), (n, self.features))
    y = x @ sign_ste(hidden) / math.sqrt(n)
    if self.use_bias:
      y = y + self.param('bias', nn.initializers.zeros, (self.features,))
    return y


class MeanFieldDense(nn.Module):
  """Binary weights as mean-field fields theta (param 'field'); Gaussian-field preactivation (module docstring).

  train=True samples h (rng stream 'dropout'); train=False computes with sign(theta) ('sign') or m ('mean').
  """

  features: int
  use_bias: bool = True
  init_scale: float = 0.1
  eval_weights: str = 'sign'

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    n = x.shape[-1]
    theta = self.param(FIELD, nn.initializers.normal(self.init_scale), (n, self.features))
    m = jnp.tanh(theta)
    if train:
      mean = x @ m / math.sqrt(n)
      var = (x**2) @ (1.0 - m**2) / n
      h = mean + jnp.sqrt(var + 1e-8) * jax.random.normal(self.make_rng('dropout'), mean.shape)
    else:
      w = jnp.where(theta >= 0, 1.0, -1.0) if self.eval_weights == 'sign' else m
      h = x @ w / math.sqrt(n)
    if self.use_bias:
      h = h + self.param('bias', nn.initializers.zeros, (self.features,))
    return h


class BinaryMLP(nn.Module):
  """An MLP of binary-weight layers. kind='ste' (BinaryDense, for the metaplastic / naive BNN) or 'meanfield'
  (MeanFieldDense, for the variational learner). Shapes: (B, ...) -> (B, out)."""

  hidden: tuple[int, ...] = (256, 256)
  out: int = 10
  kind: str = 'meanfield'
  act: str = 'tanh'

  def setup(self):
    if self.kind not in ('ste', 'meanfield'):
      raise ConfigurationError(f"BinaryMLP.kind={self.kind!r} must be 'ste' or 'meanfield'.")

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    fn = {'tanh': jnp.tanh, 'relu': nn.relu, 'sign': sign_ste}[self.act]
    x = x.reshape((x.shape[0], -1))
    for i, width in enumerate((*self.hidden, self.out)):
      if self.kind == 'ste':
        x = BinaryDense(width, name=f'layer_{i}')(x)
      else:
        x = MeanFieldDense(width, name=f'layer_{i}')(x, train)
      if i < len(self.hidden):
        x = fn(x)
    return x


class BinaryPerceptron(nn.Module):
  """The teacher-student student: one binary-weight unit, no bias, logits (-h, h) for labels {0, 1}."""

  kind: str = 'meanfield'
  gain: float = 4.0  # logit scale: sharper than the unit-variance field so the cross-entropy is not flat

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    if self.kind == 'ste':
      h = BinaryDense(1, use_bias=False, name='unit')(x)
    else:
      h = MeanFieldDense(1, use_bias=False, name='unit')(x, train)
    return self.gain * jnp.concatenate([-h, h], axis=-1)


def _path_names(path) -> list[str]:
  return [str(getattr(p, 'key', getattr(p, 'name', p))) for p in path]


def metaplastic_scaling(m: float) -> optax.GradientTransformation:
  """Attenuates, by 1 - tanh^2(m W), every update to a 2-D 'kernel' that points against sign(W) (after the
  optimizer, so `updates` are the parameter changes)."""

  def update(updates, state, params=None):
    if params is None:
      raise ValueError('metaplastic_scaling needs params in update().')

    def scale(path, u, w):
      if _path_names(path)[-1] != 'kernel' or u.ndim != 2:
        return u
      return jnp.where(u * w < 0, u * (1.0 - jnp.tanh(m * w) ** 2), u)

    return jax.tree_util.tree_map_with_path(scale, updates, params), state

  return optax.GradientTransformation(lambda p: optax.EmptyState(), update)


@dataclasses.dataclass
class Metaplastic(Learner):
  """Metaplastic BNN (use with BinaryMLP(kind='ste')). meta = m of f_meta; 0 gives the naive BNN."""

  meta: float = 1.3

  name = 'metaplastic'
  needs_boundaries = False

  def __post_init__(self):
    if self.meta < 0:
      raise ConfigurationError(f'Metaplastic.meta={self.meta} must be >= 0 (0 is the naive BNN).')

  def post_transformation(self):
    return metaplastic_scaling(self.meta) if self.meta > 0 else None


def binary_kl(theta: jax.Array, prior: jax.Array) -> jax.Array:
  """sum KL(q_theta || q_prior) of independent +-1 weights with q(+1) = (1 + tanh(field)) / 2."""
  # log q(+-1) = log sigmoid(+-2 theta): numerically stable for large fields.
  lp, lm = jax.nn.log_sigmoid(2 * theta), jax.nn.log_sigmoid(-2 * theta)
  lp0, lm0 = jax.nn.log_sigmoid(2 * prior), jax.nn.log_sigmoid(-2 * prior)
  return jnp.sum(jnp.exp(lp) * (lp - lp0) + jnp.exp(lm) * (lm - lm0))


def _fields(params):
  return {
    '/'.join(_path_names(path)): leaf
    for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]
    if _path_names(path)[-1] == FIELD
  }


@dataclasses.dataclass
class VariationalBinary(Learner):
  """Variational continual learning in field space (use with MeanFieldDense models).

  Attributes: strength (weight of the KL term per weight-sum; the paper's 1/P data scale becomes a knob).
  """

  strength: float = 1e-3

  name = 'variational'
  needs_boundaries = True

  def __post_init__(self):
    if self.strength < 0:
      raise ConfigurationError(f'VariationalBinary.strength={self.strength} must be >= 0.')

  def init(self, params, stream, key):
    fields = _fields(params)
    if not fields:
      raise ConfigurationError(
        "VariationalBinary needs mean-field binary layers (params named 'field', e.g. BinaryMLP(kind='meanfield'))."
      )
    return {'prior': {k: jnp.zeros_like(v) for k, v in fields.items()}, 'active': jnp.zeros(())}

  def penalty(self, params, state):
    fields = _fields(params)
    return state['active'] * self.strength * sum(binary_kl(fields[k], state['prior'][k]) for k in fields)

  def end_task(self, state, *, model, params, model_state, arrays, task, key):
    return {'prior': {k: jnp.copy(v) for k, v in _fields(params).items()}, 'active': jnp.ones(())}
