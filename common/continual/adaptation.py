"""Fully test-time adaptation as pure jittable steps: source-only, BN statistics, TENT, soft Hebbian, and NHL.

Neuro-modulated Hebbian learning (NHL; Tang, Zhang, Xu, Chen, Cheng, Leng, Guo & He, CVPR 2023) adapts a trained
source model online, one unlabelled test batch at a time, before predicting that batch:
  1. soft Hebbian learning in an early layer (a convolution): its responses u = W x to every input patch x compete
     through a softmax over the layer's channels, y = softmax(u / temperature) (soft winner-take-all, i.e.
     lateral inhibition), and each channel's weights move by the SoftHebb rule (Moraitis et al. 2022)
         dw_k = eta * mean_patches[ y_k (x - u_k w_k) ]
     (Hebbian growth y_k x, and a decay u_k y_k w_k that keeps |w_k| near 1);
  2. the feedback neuro-modulation layer (common/continual/tta_model.py: NeuroModulator after the Hebbian layer)
     takes one SGD step on the entropy of the model's predictions (the error back-propagated from the top; the
     classifier and every other layer stay fixed);
  3. the batch is predicted with the updated weights.
The seed text states the ingredients (soft Hebbian learning with competitive lateral inhibition in early layers,
a neuro-modulator tuned by back-propagated feedback); the research notes give the rule above as unverified, and
the loss for the modulator as entropy minimisation ([B?]). Our choices: SoftHebb's rule and temperature on the
first convolution's pre-activations (no bias), one Hebbian and one entropy step per batch, SGD with momentum.

Baselines (the same step signature):
  'source'   no adaptation, running batch-norm statistics;
  'norm'     no parameter update, batch-norm statistics of the test batch (Schneider et al. 2020);
  'tent'     entropy minimisation of the batch-norm affine parameters with test-batch statistics (Wang et al.
             2021); as in TENT's code, the batch is predicted by the forward pass that computes the gradient;
  'hebbian'  step 1 only (test-batch statistics), then predict;
  'nhl'      steps 1-3 (test-batch statistics).
Every adapting method normalises with the test batch's statistics, as TENT does; 'norm' isolates that effect.

Use: `adapter = Adaptation(model, method='nhl')`; `state = adapter.init(params, model_state)` from the source
model's trained variables; then for every test batch `state, logits, metrics = adapter.step(state, batch, key)`
(jit it once: the state's shapes never change). A batch is {'inputs': (B, H, W, C)} plus optional 'targets' (B,)
for the online accuracy metric (never used for adaptation).
"""

import dataclasses
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from common.train.errors import ConfigurationError

METHODS = ('source', 'norm', 'tent', 'hebbian', 'nhl')


def conv_same(x: jax.Array, kernel: jax.Array) -> jax.Array:
  """'SAME', stride-1 convolution (B, H, W, C_in) x (kh, kw, C_in, C_out) -> (B, H, W, C_out), as nn.Conv."""
  return jax.lax.conv_general_dilated(x, kernel, (1, 1), 'SAME', dimension_numbers=('NHWC', 'HWIO', 'NHWC'))


def soft_hebbian_update(kernel: jax.Array, x: jax.Array, temperature: float) -> jax.Array:
  """The SoftHebb weight change of a 'SAME' stride-1 conv layer (before the learning rate), the kernel's shape.

  u[p, k] = w_k . x_p for every patch p (all positions of all images); y = softmax(u / temperature) over k;
  returns mean_p y[p, k] (x_p - u[p, k] w_k). The Hebbian term sum_p y[p, k] x_p is the transpose of the
  convolution applied to y (its vector-Jacobian product with respect to the kernel).
  """
  u, conv_vjp = jax.vjp(lambda w: conv_same(x, w), kernel)
  y = jax.nn.softmax(u / temperature, axis=-1)
  patches = u.shape[0] * u.shape[1] * u.shape[2]
  (hebbian,) = conv_vjp(y)
  decay = jnp.sum(y * u, axis=(0, 1, 2))  # sum_p y[p, k] u[p, k], per output channel
  return (hebbian - decay * kernel) / patches


def prediction_entropy(logits: jax.Array) -> jax.Array:
  """(B,) Shannon entropy of softmax(logits) in nats."""
  logp = jax.nn.log_softmax(logits, axis=-1)
  return -jnp.sum(jnp.exp(logp) * logp, axis=-1)


def layer_input(model, variables, inputs, layer: str, *, train: bool) -> jax.Array:
  """The input of the submodule named `layer` (top level) in `model.apply(variables, inputs)`."""
  seen = []

  def interceptor(next_fun, args, kwargs, context):
    if context.method_name == '__call__' and context.module.path == (layer,):
      seen.append(args[0])
    return next_fun(*args, **kwargs)

  with nn.intercept_methods(interceptor):
    model.apply(variables, inputs, train=train, mutable=['batch_stats'] if train else False)
  if not seen:
    raise ConfigurationError(f'Adaptation.hebbian_layer={layer!r} is not a submodule the model calls.')
  return seen[0]


@dataclasses.dataclass(frozen=True)
class Adaptation:
  """Online test-time adaptation of a trained model (module docstring).

  Attributes:
    model: the source flax model, called as model(inputs, train=bool) with a 'batch_stats' collection.
    method: one of METHODS.
    learning_rate, momentum: SGD on the entropy ('tent': the norm layers' scale and bias; 'nhl': the modulator).
    hebbian_lr, temperature: eta and the softmax temperature of the soft Hebbian rule ('hebbian', 'nhl').
    hebbian_layer: the top-level conv module adapted by the Hebbian rule (its kernel, no bias).
    modulator: the top-level module tuned by NHL's entropy step.
    norm_layers: the top-level BatchNorm modules whose affine parameters TENT adapts.
    predict_after_update: predict with the updated weights (default: True, except for 'tent', which predicts
      from the forward pass of its gradient, as its reference code does).
  """

  model: Any
  method: str = 'nhl'
  learning_rate: float = 1e-3
  momentum: float = 0.9
  hebbian_lr: float = 1e-2
  temperature: float = 1.0
  hebbian_layer: str = 'conv_0'
  modulator: str = 'modulator'
  norm_layers: Sequence[str] = ('norm_0', 'norm_1')
  predict_after_update: bool | None = None

  def __post_init__(self):
    if self.method not in METHODS:
      raise ConfigurationError(f'Adaptation.method={self.method!r} must be one of {METHODS}.')
    for name in ('learning_rate', 'hebbian_lr', 'temperature'):
      if not getattr(self, name) > 0:
        raise ConfigurationError(f'Adaptation.{name}={getattr(self, name)} must be positive.')
    if not 0.0 <= self.momentum < 1.0:
      raise ConfigurationError(f'Adaptation.momentum={self.momentum} must lie in [0, 1).')

  @property
  def trainable(self) -> tuple[str, ...]:
    """Top-level modules updated by the entropy step."""
    return {'tent': tuple(self.norm_layers), 'nhl': (self.modulator,)}.get(self.method, ())

  @property
  def uses_batch_statistics(self) -> bool:
    return self.method != 'source'

  @property
  def hebbian(self) -> bool:
    return self.method in ('hebbian', 'nhl')

  def _tx(self):
    return optax.sgd(self.learning_rate, momentum=self.momentum or None)

  def init(self, params, model_state) -> dict:
    """The adaptation state from the source model's params and model state ('batch_stats')."""
    missing = [m for m in self.trainable + ((self.hebbian_layer,) if self.hebbian else ()) if m not in params]
    if missing:
      raise ConfigurationError(
        f'Adaptation(method={self.method!r}) adapts {missing}, which the model does not have (its modules: '
        f'{sorted(params)}); set hebbian_layer / modulator / norm_layers to its module names.'
      )
    subset = {m: params[m] for m in self.trainable}
    return {
      'step': jnp.zeros((), jnp.int32),
      'params': params,
      'model_state': model_state,
      'opt_state': self._tx().init(subset),
    }

  def _logits(self, params, model_state, inputs):
    variables = {'params': params, **model_state}
    if self.uses_batch_statistics:
      logits, _ = self.model.apply(variables, inputs, train=True, mutable=['batch_stats'])
      return logits
    return self.model.apply(variables, inputs, train=False)

  def step(self, state, batch, key=None):
    """One online step on one test batch: returns (state, logits (B, C), metrics)."""
    del key  # every method here is deterministic; the key is kept for the loop's uniform call
    params, model_state, opt_state = state['params'], state['model_state'], state['opt_state']
    inputs = batch['inputs']
    metrics = {}
    if self.hebbian:
      x = layer_input(self.model, {'params': params, **model_state}, inputs, self.hebbian_layer, train=True)
      layer = params[self.hebbian_layer]
      delta = self.hebbian_lr * soft_hebbian_update(layer['kernel'], x, self.temperature)
      params = {**params, self.hebbian_layer: {**layer, 'kernel': layer['kernel'] + delta}}
      metrics['hebbian_update_norm'] = jnp.sqrt(jnp.sum(delta**2))
    logits = None
    if self.trainable:

      def entropy_of(subset):
        out = self._logits({**params, **subset}, model_state, inputs)
        return jnp.mean(prediction_entropy(out)), out

      subset = {m: params[m] for m in self.trainable}
      (_, logits), grads = jax.value_and_grad(entropy_of, has_aux=True)(subset)
      updates, opt_state = self._tx().update(grads, opt_state, subset)
      params = {**params, **optax.apply_updates(subset, updates)}
    predict_after = self.predict_after_update if self.predict_after_update is not None else self.method != 'tent'
    if logits is None or predict_after:
      logits = self._logits(params, model_state, inputs)
    metrics['entropy'] = jnp.mean(prediction_entropy(logits))
    if 'targets' in batch:
      metrics['accuracy'] = jnp.mean((jnp.argmax(logits, -1) == batch['targets']).astype(jnp.float32))
    new_state = {'step': state['step'] + 1, 'params': params, 'model_state': model_state, 'opt_state': opt_state}
    return new_state, logits, metrics


def make_adapt_step(model, method: str, **options):
  """(init, step) of Adaptation(model, method, **options): init(params, model_state) -> state;
  step(state, batch, key) -> (state, logits, metrics)."""
  adapter = Adaptation(model, method, **options)
  return adapter.init, adapter.step
