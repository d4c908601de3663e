"""ReLinear's first regulariser: smaller learning rates for the quadratic parameters, as an optax transform.

The authors (FengleiFan/ReLinear, `qtrainer`) put the 'g.' and 'b.' parameters in their own SGD parameter
group with a much smaller learning rate (lr_gb). Here that is `scale_updates_by_path`, which multiplies the
*updates* of parameters whose path matches a regular expression, placed after the base optimizer so it is a
true learning-rate multiplier for any optimizer. (Scaling the gradients before Adam would do almost nothing:
Adam divides by the gradient's own scale.) A multiplier of 0 freezes the quadratic parameters at their ReLinear
initialisation, i.e. trains the conventional network inside the quadratic one.
"""

import re
from typing import Callable, NamedTuple, Sequence

import jax
import optax

from common.quadratic.neurons import QUADRATIC_PARAM_PATTERN
from common.train.errors import ConfigurationError


def path_string(path) -> str:
  """'/'-joined names of a pytree path, e.g. 'qdense_0/quad_g/kernel'."""
  return '/'.join(str(getattr(p, 'key', getattr(p, 'name', getattr(p, 'idx', p)))) for p in path)


class ScaleByPathState(NamedTuple):
  """No state: the scales are fixed by the parameter paths."""


def scale_updates_by_path(rules: Sequence[tuple[str, float]]) -> optax.GradientTransformation:
  """Multiplies each update by the factor of the first rule whose regex `re.search`es its path (else 1).

  Args:
    rules: (regular expression, factor) pairs, e.g. [(QUADRATIC_PARAM_PATTERN, 0.01)]. Factors must be >= 0.

  Raises ConfigurationError at init if a factor is negative or a pattern matches no parameter (a typo in the
  pattern would otherwise silently train everything at the full rate).
  """
  compiled = []
  for pattern, factor in rules:
    if not factor >= 0:
      raise ConfigurationError(f'scale_updates_by_path: factor {factor} for {pattern!r} must be >= 0.')
    compiled.append((re.compile(pattern), float(factor)))

  def factor_of(path) -> float:
    name = path_string(path)
    for regex, factor in compiled:
      if regex.search(name):
        return factor
    return 1.0

  def init_fn(params):
    names = [path_string(p) for p, _ in jax.tree_util.tree_flatten_with_path(params)[0]]
    for regex, _ in compiled:
      if not any(regex.search(n) for n in names):
        raise ConfigurationError(
          f'scale_updates_by_path: pattern {regex.pattern!r} matches no parameter; parameter paths look like '
          f'{names[:3]}. Fix the pattern or remove the rule.'
        )
    return ScaleByPathState()

  def update_fn(updates, state, params=None):
    del params
    scaled = jax.tree_util.tree_map_with_path(lambda p, u: u if factor_of(p) == 1.0 else u * factor_of(p), updates)
    return scaled, state

  return optax.GradientTransformation(init_fn, update_fn)


def relinear_optimizer(
  num_steps: int,
  *,
  base: Callable[[int], optax.GradientTransformation],
  quadratic_lr_multiplier: float = 1.0,
  pattern: str = QUADRATIC_PARAM_PATTERN,
) -> optax.GradientTransformation:
  """An optimizer factory (num_steps -> optax transform): `base` followed by the quadratic learning-rate scale.

  Args:
    num_steps: passed to `base` (the training loop calls the factory with the run's length).
    base: the base optimizer factory, e.g. common.train.optim.create_optimizer with its own bindings.
    quadratic_lr_multiplier: gamma_g = gamma_b = multiplier * the base learning rate (0 freezes them).
    pattern: which parameters are quadratic (default: every `quad_*` submodule of the quadratic layers).
  """
  if not quadratic_lr_multiplier >= 0:
    raise ConfigurationError(
      f'relinear_optimizer.quadratic_lr_multiplier={quadratic_lr_multiplier} must be >= 0 (0 freezes the '
      'quadratic parameters, 1 trains them at the base rate).'
    )
  return optax.chain(base(num_steps), scale_updates_by_path([(pattern, quadratic_lr_multiplier)]))
