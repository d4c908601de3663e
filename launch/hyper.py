"""The sweep vocabulary (big_vision/scenic's `hyper`, which they use but never released), materialised eagerly.

A sweep file defines `sweep(h)` (or `get_hyper(h)`) and returns one of these, built from this module:

  def sweep(h):
    return h.product([
      h.sweep('LEARNING_RATE', [1e-3, 3e-3]),
      h.zip([h.sweep('mlp.MLP.hidden', [(64,), (256, 256)]), h.sweep('BATCH_SIZE', [32, 64])]),
      h.random_search({'mlp.MLP.dropout': h.uniform(0.0, 0.3)}, n=2, seed=0),
    ])

Every combinator returns a `Sweep`: the explicit, ordered list of trials, each trial an ordered tuple of
(gin key, python value) pairs. Keys are written as on the command line (`mlp.MLP.hidden`, `LEARNING_RATE`);
values are python literals (numbers, strings, tuples, None) or `h.ref('mlp.MLP')` for a gin reference.
Random search draws from numpy's Generator seeded with `seed`, so a sweep file always yields the same trials.

The same file may define `search(h)` for an adaptive search (launch/study.py, Optuna):

  def search(h):
    return h.search(
      {
        'LEARNING_RATE': h.float(1e-4, 1e-1, log=True),
        'mlp.MLP.hidden': h.categorical([(64,), (256, 256)]),
        'BATCH_SIZE': h.int(16, 256, log=True),
      },
      metric='loss', direction='minimize',  # the final metric the study optimises; its eval values drive pruning
    )

(`h.float`/`h.int` shadow the builtins inside this module only; its own code calls builtins.float/builtins.int.)
"""

import builtins
import dataclasses
import itertools
import math
from typing import Any, Sequence

from launch.errors import UsageError


class SweepError(UsageError):
  """A malformed sweep (an empty axis, zip of unequal lengths, a key swept twice): exit status 2."""


@dataclasses.dataclass(frozen=True)
class Sweep:
  trials: tuple[tuple[tuple[str, Any], ...], ...]

  @property
  def keys(self) -> list[str]:
    seen: dict[str, None] = {}
    for trial in self.trials:
      for k, _ in trial:
        seen.setdefault(k, None)
    return list(seen)

  def __len__(self) -> int:
    return len(self.trials)


def sweep(key: str, values: Sequence[Any]) -> Sweep:
  """One axis: `key` takes each of `values` in turn."""
  if not isinstance(key, str) or not key:
    raise SweepError(f'h.sweep: the key must be a gin key such as "LEARNING_RATE"; got {key!r}.')
  if isinstance(values, (str, bytes)) or not hasattr(values, '__iter__'):
    raise SweepError(f'h.sweep({key!r}, ...): values must be a list, got {values!r}.')
  values = list(values)
  if not values:
    raise SweepError(f'h.sweep({key!r}, []): the axis is empty; give at least one value.')
  return Sweep(tuple(((key, v),) for v in values))


def fixed(key: str, value: Any) -> Sweep:
  """A single value for every trial (it appears in the trial's bindings but is not a swept axis)."""
  return sweep(key, [value])


def _check_disjoint(parts: Sequence[Sweep], what: str) -> None:
  seen: dict[str, int] = {}
  for i, part in enumerate(parts):
    for k in part.keys:
      if k in seen:
        raise SweepError(f'h.{what}: {k!r} is swept by parts {seen[k]} and {i}; sweep each key in one place.')
      seen[k] = i


def _parts(parts, what: str) -> list[Sweep]:
  parts = list(parts)
  if not parts:
    raise SweepError(f'h.{what}([]): nothing to combine.')
  for p in parts:
    if not isinstance(p, Sweep):
      raise SweepError(f'h.{what}: every part must come from h.sweep/h.zip/...; got {p!r}.')
  return parts


def product(parts: Sequence[Sweep]) -> Sweep:
  """Every combination (the last part varies fastest)."""
  parts = _parts(parts, 'product')
  _check_disjoint(parts, 'product')
  return Sweep(tuple(sum(combo, ()) for combo in itertools.product(*(p.trials for p in parts))))


def zip(parts: Sequence[Sweep]) -> Sweep:  # noqa: A001 - the name of the hyper vocabulary
  """Trial i takes the i-th trial of every part; all parts must have the same length."""
  parts = _parts(parts, 'zip')
  _check_disjoint(parts, 'zip')
  lengths = [len(p) for p in parts]
  if len(set(lengths)) != 1:
    described = ', '.join(f'{"+".join(p.keys)}: {len(p)}' for p in parts)
    raise SweepError(f'h.zip: the parts have different lengths ({described}); zip needs equal lengths.')
  return Sweep(tuple(sum(combo, ()) for combo in builtins.zip(*(p.trials for p in parts))))


zipit = zip


def chain(parts: Sequence[Sweep]) -> Sweep:
  """The trials of each part, one part after another."""
  return Sweep(tuple(t for p in _parts(parts, 'chain') for t in p.trials))


chainit = chain


@dataclasses.dataclass(frozen=True)
class Distribution:
  kind: str
  args: tuple

  def draw(self, rng):
    if self.kind == 'uniform':
      return _round(builtins.float(rng.uniform(*self.args)))
    if self.kind == 'loguniform':
      lo, hi = self.args
      return _round(builtins.float(math.exp(rng.uniform(math.log(lo), math.log(hi)))))
    if self.kind == 'randint':
      return builtins.int(rng.integers(self.args[0], self.args[1] + 1))
    return self.args[0][builtins.int(rng.integers(len(self.args[0])))]


def _round(x: float) -> float:
  """6 significant digits: short, readable bindings that still replay exactly."""
  return builtins.float(f'{x:.6g}')


def uniform(low: float, high: float) -> Distribution:
  if not low < high:
    raise SweepError(f'h.uniform({low}, {high}): low must be below high.')
  return Distribution('uniform', (low, high))


def loguniform(low: float, high: float) -> Distribution:
  if not 0 < low < high:
    raise SweepError(f'h.loguniform({low}, {high}): needs 0 < low < high.')
  return Distribution('loguniform', (low, high))


def randint(low: int, high: int) -> Distribution:
  """An integer in [low, high], both included."""
  if not low <= high:
    raise SweepError(f'h.randint({low}, {high}): low must not exceed high.')
  return Distribution('randint', (builtins.int(low), builtins.int(high)))


def choice(values: Sequence[Any]) -> Distribution:
  values = list(values)
  if not values:
    raise SweepError('h.choice([]): nothing to choose from.')
  return Distribution('choice', (values,))


def random_search(space: dict[str, Distribution], *, n: int, seed: int) -> Sweep:
  """`n` trials drawn independently from `space` (key -> distribution) with numpy's Generator(seed)."""
  import numpy as np

  if n < 1:
    raise SweepError(f'h.random_search(n={n}): n must be at least 1.')
  if not space:
    raise SweepError('h.random_search({}): the space is empty.')
  for k, d in space.items():
    if not isinstance(d, Distribution):
      raise SweepError(f'h.random_search: {k!r} must be h.uniform/h.loguniform/h.randint/h.choice, got {d!r}.')
  rng = np.random.default_rng(seed)
  return Sweep(tuple(tuple((k, d.draw(rng)) for k, d in space.items()) for _ in range(n)))


def ref(name: str, call: bool = True):
  """A gin reference as a swept value: `h.ref('mlp.MLP')` is `@mlp.MLP()`; call=False gives `@name`."""
  from launch import config_model as cm

  return cm.Ref(name, call)


# ------------------------------------------------------------------------------------------------------------------
# Search spaces for adaptive search (launch/study.py).


@dataclasses.dataclass(frozen=True)
class Param:
  """One dimension of a search space: kind 'float' or 'int' (a range [low, high], optionally log-scaled or on a
  grid of `step`) or 'categorical' (`choices`, any gin values)."""

  kind: str
  low: Any = None
  high: Any = None
  log: bool = False
  step: Any = None
  choices: tuple = ()


def float(low, high, *, log: bool = False, step=None) -> Param:  # noqa: A001 - h.float in sweep files
  """A real number in [low, high]; log=True samples log(x) uniformly (needs low > 0); `step` a grid spacing."""
  low, high = builtins.float(low), builtins.float(high)
  if not low < high:
    raise SweepError(f'h.float({low}, {high}): low must be below high.')
  if log and low <= 0:
    raise SweepError(f'h.float({low}, {high}, log=True): a log scale needs low > 0.')
  if log and step is not None:
    raise SweepError('h.float(..., log=True, step=...): choose a log scale or a step, not both.')
  return Param('float', low, high, builtins.bool(log), step)


def int(low, high, *, log: bool = False, step: int = 1) -> Param:  # noqa: A001 - h.int in sweep files
  """An integer in [low, high], both included; log=True samples log(x) uniformly (needs low >= 1)."""
  if builtins.int(low) != low or builtins.int(high) != high:
    raise SweepError(f'h.int({low}, {high}): the bounds must be integers.')
  low, high = builtins.int(low), builtins.int(high)
  if not low <= high:
    raise SweepError(f'h.int({low}, {high}): low must not exceed high.')
  if log and low < 1:
    raise SweepError(f'h.int({low}, {high}, log=True): a log scale needs low >= 1.')
  if step < 1 or (log and step != 1):
    raise SweepError(f'h.int({low}, {high}, step={step}): step must be >= 1, and 1 on a log scale.')
  return Param('int', low, high, builtins.bool(log), builtins.int(step))


def categorical(choices: Sequence[Any]) -> Param:
  """One of `choices` (numbers, strings, tuples, None, h.ref(...)): anything a gin binding takes."""
  from launch import config_model as cm

  if isinstance(choices, (str, bytes)) or not hasattr(choices, '__iter__'):
    raise SweepError(f'h.categorical({choices!r}): give a list of choices.')
  choices = tuple(choices)
  if not choices:
    raise SweepError('h.categorical([]): nothing to choose from.')
  texts = [cm.to_gin(c) for c in choices]
  if len(set(texts)) != len(texts):
    raise SweepError(f'h.categorical({list(texts)}): a choice appears twice.')
  return Param('categorical', choices=choices)


@dataclasses.dataclass(frozen=True)
class Search:
  """An adaptive search: the space (gin key -> Param), the final metric to optimise and its direction, the
  sampler's seed, and pruning (Optuna's median rule on the metric's values in the `split` rows: a trial stops when
  its value is worse than the median of finished trials at the same step, once `startup_trials` finished and past
  `warmup_steps`)."""

  space: tuple[tuple[str, Param], ...]
  metric: str
  direction: str = 'minimize'
  seed: builtins.int = 0
  split: str = 'eval'
  prune: builtins.bool = True
  startup_trials: builtins.int = 3
  warmup_steps: builtins.int = 0

  @property
  def keys(self) -> list[str]:
    return [k for k, _ in self.space]


def search(
  space: dict[str, Param],
  *,
  metric: str,
  direction: str = 'minimize',
  seed: builtins.int = 0,
  split: str = 'eval',
  prune: builtins.bool = True,
  startup_trials: builtins.int = 3,
  warmup_steps: builtins.int = 0,
) -> Search:
  """The spec `search(h)` returns; see Search."""
  if not isinstance(space, dict) or not space:
    raise SweepError('h.search(space, ...): the space must be a non-empty dict of gin key -> h.float/h.int/...')
  for key, p in space.items():
    if not isinstance(key, str) or not key:
      raise SweepError(f'h.search: {key!r} is not a gin key such as "LEARNING_RATE".')
    if not isinstance(p, Param):
      raise SweepError(f'h.search: {key!r} must be h.float/h.int/h.categorical, got {p!r}.')
  if not isinstance(metric, str) or not metric:
    raise SweepError("h.search(..., metric=...): name the final metric to optimise, e.g. metric='loss'.")
  if direction not in ('minimize', 'maximize'):
    raise SweepError(f"h.search(..., direction={direction!r}): 'minimize' or 'maximize'.")
  if startup_trials < 0 or warmup_steps < 0:
    raise SweepError('h.search: startup_trials and warmup_steps must be >= 0.')
  return Search(
    tuple(space.items()),
    metric,
    direction,
    builtins.int(seed),
    split,
    builtins.bool(prune),
    builtins.int(startup_trials),
    builtins.int(warmup_steps),
  )
