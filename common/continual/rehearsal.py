"""Rehearsal at a fixed budget with a schedule over past tasks: power-law, uniform or recency-only.

A buffer keeps `buffer_per_task` training examples of every finished task (a seeded random subset). Each step
of task t trains on its batch plus `replay_per_step` replayed examples (the fixed rehearsal budget: equal for
every schedule), each drawn from a past task i < t with probability

  power_law   P(i) proportional to (t - i)^(-exponent)   (Gandhi et al. 2024: the chance of meeting a task falls
                                                          as a power law of the time since it was last seen)
  uniform     P(i) = 1 / t
  recency     only the most recent past task, i = t - 1

and then a uniform example of that task's buffer. Time since a task was last seen is counted in tasks since it
was the trained task; rehearsal does not reset the clock (with a reset, every past task is replayed within a few
steps and all three schedules collapse to nearly uniform). During task 0 the replay slots carry weight 0.
"""

import dataclasses

import jax
import jax.numpy as jnp

from common.continual import streams as streams_lib
from common.continual.learners import Learner
from common.train.errors import ConfigurationError

SCHEDULES = ('power_law', 'uniform', 'recency')


def schedule_logits(schedule: str, exponent: float, task: jax.Array, num_tasks: int) -> jax.Array:
  """Log-probabilities (num_tasks,) of replaying each task during `task`; -inf for tasks not yet finished."""
  i = jnp.arange(num_tasks)
  past = i < task
  age = jnp.maximum(task - i, 1).astype(jnp.float32)
  if schedule == 'power_law':
    logits = -exponent * jnp.log(age)
  elif schedule == 'uniform':
    logits = jnp.zeros(num_tasks)
  else:  # recency
    logits = jnp.where(i == task - 1, 0.0, -jnp.inf)
  return jnp.where(past, logits, -jnp.inf)


@dataclasses.dataclass
class Rehearsal(Learner):
  """Attributes: schedule ('power_law', 'uniform', 'recency'), exponent (d of the power law),
  buffer_per_task (stored examples per finished task), replay_per_step (replayed examples per step)."""

  schedule: str = 'power_law'
  exponent: float = 1.0
  buffer_per_task: int = 100
  replay_per_step: int = 32

  name = 'rehearsal'
  needs_boundaries = True

  def __post_init__(self):
    if self.schedule not in SCHEDULES:
      raise ConfigurationError(f'Rehearsal.schedule={self.schedule!r} is unknown; choose one of {SCHEDULES}.')
    if self.buffer_per_task < 1 or self.replay_per_step < 1:
      raise ConfigurationError(
        f'Rehearsal.buffer_per_task={self.buffer_per_task} and replay_per_step={self.replay_per_step} must be >= 1.'
      )
    if self.replay_per_step > self.buffer_per_task:
      raise ConfigurationError(
        f'Rehearsal.replay_per_step={self.replay_per_step} (the rehearsal budget per step) is larger than the '
        f'buffer (buffer_per_task={self.buffer_per_task}); lower replay_per_step or enlarge the buffer.'
      )
    if self.schedule == 'power_law' and not self.exponent > 0:
      raise ConfigurationError(f'Rehearsal.exponent={self.exponent} must be positive for the power-law schedule.')

  def validate(self, stream):
    super().validate(stream)
    smallest = int(stream.train_counts.min())
    if self.buffer_per_task > smallest:
      raise ConfigurationError(
        f'Rehearsal.buffer_per_task={self.buffer_per_task} exceeds the {smallest} training examples of the '
        'smallest task; lower buffer_per_task.'
      )

  def init(self, params, stream, key):
    # The buffer: a seeded subset of each task's examples (the data are fixed, so choosing now is the same as
    # choosing when the task ends; a task's buffer is only read once the task is over).
    idx = [
      jax.random.choice(jax.random.fold_in(key, t), int(c), (self.buffer_per_task,), replace=False)
      for t, c in enumerate(stream.train_counts)
    ]
    return {'buffer': jnp.stack(idx).astype(jnp.int32)}

  def train_batch(self, arrays, state, key, step, task, batch_size):
    current = streams_lib.sample_task_batch(arrays, key, step, task, batch_size)
    num_tasks = arrays['counts'].shape[0]
    k_task, k_slot = jax.random.split(jax.random.fold_in(jax.random.fold_in(key, 7919), step))
    logits = schedule_logits(self.schedule, self.exponent, task, num_tasks)
    tasks = jax.random.categorical(k_task, logits, shape=(self.replay_per_step,))
    tasks = jnp.clip(tasks, 0, num_tasks - 1)
    slots = jax.random.randint(k_slot, (self.replay_per_step,), 0, self.buffer_per_task)
    replay = streams_lib.gather(arrays, tasks, state['buffer'][tasks, slots])
    replay['weight'] = jnp.where(task > 0, replay['weight'], 0.0)
    return {k: jnp.concatenate([current[k], replay[k]]) for k in current}
