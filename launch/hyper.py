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
      return _round(float(rng.uniform(*self.args)))
    if self.kind == 'loguniform':
      lo, hi = self.args
      return _round(float(math.exp(rng.uniform(math.log(lo), math.log(hi)))))
    if self.kind == 'randint':
      return int(rng.integers(self.args[0], self.args[1] + 1))
    return self.args[0][int(rng.integers(len(self.args[0])))]


def _round(x: float) -> float:
  """6 significant digits: short, readable bindings that still replay exactly."""
  return float(f'{x:.6g}')


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
  return Distribution('randint', (int(low), int(high)))


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
