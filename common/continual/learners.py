"""The learner interface, and the two bounds every method is compared with: fine-tuning and joint training.

A learner composes with any model. It may contribute, all optional:
  penalty(params, state)                   a loss term with its own state (EWC, SI)
  gradient_transformation()                an optax transform run on the gradients before the optimizer; it
                                           receives `transform_args(state)` as extra args (HLOP, SVD projection)
  post_transformation()                    an optax transform run on the optimizer's updates (metaplasticity)
  train_batch(arrays, state, key, step, task, batch_size)
                                           what a step trains on (joint training, rehearsal)
  observe_batch(state, *, model, params, model_state, batch, task)
                                           per-step learning from the step's batch under the pre-update
                                           weights (HLOP's Hebbian updates interleaved with training)
  after_step(state, grads, old_params, new_params)   per-step bookkeeping (SI's path integral)
  end_task(state, *, model, params, model_state, arrays, task, key)   consolidation at a task boundary
  diagnostics(state)                       scalars logged with each task's evaluation row
Everything is traceable: the trainer jits the step (with the learner inside) once for the whole stream, and
end_task once with a traced task index.
"""

import dataclasses

import jax
import jax.numpy as jnp

from common.continual import streams as streams_lib
from common.train.errors import ConfigurationError


@dataclasses.dataclass
class Learner:
  """Plain fine-tuning: train on the current task only. The lower bound."""

  name = 'finetune'
  needs_boundaries = False

  def validate(self, stream: streams_lib.TaskStream) -> None:
    """Raises ConfigurationError when this learner cannot run on `stream`."""
    if self.needs_boundaries and not stream.has_boundaries:
      raise ConfigurationError(
        f'learner={type(self).__name__} consolidates at task boundaries, but stream {stream.name!r} has none '
        '(boundaries=False); use a task-free learner (Learner, Joint) or a stream with boundaries=True.'
      )

  def init(self, params, stream: streams_lib.TaskStream, key: jax.Array):
    return {}

  def penalty(self, params, state) -> jax.Array:
    return jnp.zeros(())

  def gradient_transformation(self):
    return None

  def post_transformation(self):
    return None

  def transform_args(self, state) -> dict:
    return {}

  def train_batch(self, arrays, state, key, step, task, batch_size):
    return streams_lib.sample_task_batch(arrays, key, step, task, batch_size)

  def observe_batch(self, state, *, model, params, model_state, batch, task):
    return state

  def after_step(self, state, grads, old_params, new_params):
    return state

  def end_task(self, state, *, model, params, model_state, arrays, task, key):
    return state

  def diagnostics(self, state) -> dict:
    return {}


@dataclasses.dataclass
class Joint(Learner):
  """Joint training on every task seen so far (task t trains on tasks 0..t): the usual upper bound.

  Each example of a batch picks its task uniformly from 0..t and its index uniformly within that task (with
  replacement), so the step stays one compiled function of (key, step, task).
  """

  name = 'joint'
  needs_boundaries = False

  def train_batch(self, arrays, state, key, step, task, batch_size):
    k_task, k_idx = jax.random.split(jax.random.fold_in(key, step))
    tasks = jax.random.randint(k_task, (batch_size,), 0, task + 1)
    idx = jnp.floor(jax.random.uniform(k_idx, (batch_size,)) * arrays['counts'][tasks]).astype(jnp.int32)
    return streams_lib.gather(arrays, tasks, idx)
