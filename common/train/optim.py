"""Optimizer factory: an optax optimizer with a learning-rate schedule that knows the run's length.

The loop calls `create_optimizer(num_steps)` (gin binds the other arguments), so overriding
`train.num_steps` on the command line also stretches the schedule.
"""

from typing import Sequence

import jax
import optax

from common.train.errors import ConfigurationError

_OPTIMIZERS = {
  'adam': lambda lr, wd, b1, b2, eps: optax.adam(lr, b1=b1, b2=b2, eps=eps),
  'adamw': lambda lr, wd, b1, b2, eps: optax.adamw(lr, b1=b1, b2=b2, eps=eps, weight_decay=wd),
  'sgd': lambda lr, wd, b1, b2, eps: optax.sgd(lr, momentum=b1 if _traced(b1) else (b1 or None)),
  'lbfgs': lambda lr, wd, b1, b2, eps: optax.lbfgs(lr),
}
_SCHEDULES = ('constant', 'cosine', 'warmup_cosine', 'linear')
# Arguments of create_optimizer that may be traced arrays (one value per member of a vmapped sweep, indexed by the
# member id inside the step): they only enter arithmetic, never the optimizer's structure.
TRACEABLE_NUMBERS = ('learning_rate', 'weight_decay', 'b1', 'b2', 'eps', 'end_factor', 'grad_clip_norm')


def _traced(x) -> bool:
  return isinstance(x, jax.Array)


def learning_rate_schedule(
  num_steps: int, *, learning_rate: float, schedule: str = 'constant', warmup_steps: int = 0, end_factor: float = 0.0
) -> optax.Schedule:
  """A schedule over `num_steps` steps: constant, cosine, warmup_cosine or linear decay to end_factor * lr."""
  if schedule == 'constant':
    return optax.constant_schedule(learning_rate)
  if schedule == 'cosine':
    return optax.cosine_decay_schedule(learning_rate, max(num_steps, 1), alpha=end_factor)
  if schedule == 'warmup_cosine':
    # optax.warmup_cosine_decay_schedule's pieces, joined here because it compares the peak value with 0 in Python,
    # which a traced learning rate (a vmapped sweep's) cannot answer; the same schedule, alpha = end_factor.
    decay_steps = max(num_steps, warmup_steps + 1)
    return optax.join_schedules(
      [
        optax.linear_schedule(0.0, learning_rate, warmup_steps),
        optax.cosine_decay_schedule(learning_rate, decay_steps - warmup_steps, alpha=end_factor),
      ],
      [warmup_steps],
    )
  if schedule == 'linear':
    return optax.linear_schedule(learning_rate, learning_rate * end_factor, max(num_steps, 1))
  raise ConfigurationError(f'create_optimizer.schedule={schedule!r} is unknown; choose one of {_SCHEDULES}.')


def create_optimizer(
  num_steps: int,
  *,
  name: str = 'adam',
  learning_rate: float = 1e-3,
  schedule: str = 'constant',
  warmup_steps: int = 0,
  end_factor: float = 0.0,
  weight_decay: float = 0.0,
  b1: float = 0.9,
  b2: float = 0.999,
  eps: float = 1e-8,
  grad_clip_norm: float | None = None,
  extra_transforms: Sequence[optax.GradientTransformation] = (),
) -> optax.GradientTransformation:
  """Builds the optimizer. `extra_transforms` run on the gradients first (projections, masks, ...).

  The TRACEABLE_NUMBERS may be traced scalars (a vmapped sweep's per-member values, each member's checked as a
  float when its config was read); such a learning rate is not checked here, and a traced grad_clip_norm always
  clips.
  """
  if name not in _OPTIMIZERS:
    raise ConfigurationError(f'create_optimizer.name={name!r} is unknown; choose one of {sorted(_OPTIMIZERS)}.')
  if not _traced(learning_rate) and not learning_rate > 0:
    raise ConfigurationError(f'create_optimizer.learning_rate={learning_rate} must be positive.')
  lr = learning_rate_schedule(
    num_steps, learning_rate=learning_rate, schedule=schedule, warmup_steps=warmup_steps, end_factor=end_factor
  )
  chain = list(extra_transforms)
  if _traced(grad_clip_norm) or grad_clip_norm:
    chain.append(optax.clip_by_global_norm(grad_clip_norm))
  chain.append(_OPTIMIZERS[name](lr, weight_decay, b1, b2, eps))
  return optax.chain(*chain)
