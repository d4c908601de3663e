"""Penalty learners: EWC (online, diagonal Fisher) and Synaptic Intelligence, as loss terms with their own state.

Both keep an anchor theta* (the parameters at the end of the last task) and a per-parameter importance Omega,
and add  strength * sum Omega (theta - theta*)^2  to the task loss (EWC with a factor 1/2).

EWC (Kirkpatrick et al. 2017; online variant of Schwarz et al. 2018): at the end of task t, the diagonal
empirical Fisher F_t = E_x[(d log p(y|x) / d theta)^2] over `fisher_examples` training examples of the task
(true labels, per-example gradients by vmap), and Omega <- decay * Omega + F_t.

SI (Zenke et al. 2017): during a task, w += -g * delta_theta at every step (g: the gradient of the total loss,
as in van de Ven's reference code, so the penalty's own pull counts too); at the end of the task,
Omega += max(w, 0) / ((theta_end - theta_start)^2 + damping), then w <- 0 (a negative path integral is clipped
at 0 so the penalty stays a well-defined quadratic).
"""

import dataclasses

import jax
import jax.numpy as jnp

from common.continual import objective
from common.continual import streams as streams_lib
from common.continual.learners import Learner
from common.train.errors import ConfigurationError

tmap = jax.tree_util.tree_map


def quadratic_penalty(params, anchor, importance) -> jax.Array:
  """sum importance * (params - anchor)^2 over every leaf."""
  terms = tmap(lambda p, a, w: jnp.sum(w * (p - a) ** 2), params, anchor, importance)
  return sum(jax.tree_util.tree_leaves(terms))


def _check_positive(owner: str, name: str, value: float) -> None:
  if not value > 0:
    raise ConfigurationError(f'{owner}.{name}={value} must be positive.')


@dataclasses.dataclass
class EWC(Learner):
  """Online EWC. Attributes: strength (lambda), decay (gamma of online EWC; 1.0 = sum of Fishers),
  fisher_examples (examples of the finished task used to estimate the Fisher)."""

  strength: float = 100.0
  decay: float = 1.0
  fisher_examples: int = 256

  name = 'ewc'
  needs_boundaries = True

  def __post_init__(self):
    _check_positive('EWC', 'strength', self.strength)
    _check_positive('EWC', 'fisher_examples', self.fisher_examples)
    if not 0.0 <= self.decay <= 1.0:
      raise ConfigurationError(f'EWC.decay={self.decay} must lie in [0, 1].')

  def init(self, params, stream, key):
    return {'anchor': tmap(jnp.copy, params), 'fisher': tmap(jnp.zeros_like, params)}

  def penalty(self, params, state):
    return 0.5 * self.strength * quadratic_penalty(params, state['anchor'], state['fisher'])

  def end_task(self, state, *, model, params, model_state, arrays, task, key):
    n = min(self.fisher_examples, streams_lib.task_capacity(arrays))
    batch = streams_lib.sample_task_batch(arrays, key, 0, task, n)

    def example_loss(p, example):
      one = tmap(lambda v: v[None], example)
      logits = model.apply({'params': p, **model_state}, one['inputs'], train=False)
      return objective.classification_loss(logits, one)[0]

    grads = jax.vmap(jax.grad(example_loss), in_axes=(None, 0))(params, batch)
    fisher = tmap(lambda g: jnp.mean(g**2, axis=0), grads)
    return {
      'anchor': tmap(jnp.copy, params),
      'fisher': tmap(lambda old, new: self.decay * old + new, state['fisher'], fisher),
    }


@dataclasses.dataclass
class SI(Learner):
  """Synaptic Intelligence. Attributes: strength (c), damping (xi)."""

  strength: float = 1.0
  damping: float = 0.1

  name = 'si'
  needs_boundaries = True

  def __post_init__(self):
    _check_positive('SI', 'strength', self.strength)
    _check_positive('SI', 'damping', self.damping)

  def init(self, params, stream, key):
    # Four distinct buffers: the trainer donates the state, and aliased leaves cannot be donated twice.
    return {
      'anchor': tmap(jnp.copy, params),
      'start': tmap(jnp.copy, params),
      'path': tmap(jnp.zeros_like, params),
      'importance': tmap(jnp.zeros_like, params),
    }

  def penalty(self, params, state):
    return self.strength * quadratic_penalty(params, state['anchor'], state['importance'])

  def after_step(self, state, grads, old_params, new_params):
    path = tmap(lambda w, g, new, old: w - g * (new - old), state['path'], grads, new_params, old_params)
    return {**state, 'path': path}

  def end_task(self, state, *, model, params, model_state, arrays, task, key):
    gain = tmap(
      lambda w, p, s: jnp.maximum(w, 0.0) / ((p - s) ** 2 + self.damping), state['path'], params, state['start']
    )
    return {
      'anchor': tmap(jnp.copy, params),
      'start': tmap(jnp.copy, params),
      'path': tmap(jnp.zeros_like, params),
      'importance': tmap(jnp.add, state['importance'], gain),
    }
