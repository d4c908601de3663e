"""The two curricula of Khajehabdollahi, Zeraati et al. (ICLR 2024) as pure functions of the accuracies.

A curriculum holds the tuple of active N values (one head each). After every evaluation (the authors: every epoch
of 600 steps, accuracy on 50 fresh batches) it advances when the network has learned the current stage:

  mean accuracy over the active heads > threshold  and  the accuracy of the largest N > threshold   (98 %)

  'single'  (single-head, sequential): (N,) -> (N + 1,); the one head is reused, so earlier N may be forgotten.
  'multi'   (multi-head, the authors' 'cumulative'): (2, ..., N) -> (2, ..., N, N + 1, ..., N + heads_added).

`heads_needed(kind, n_max, start_n)` sizes the model's output for a run that will reach n_max.
"""

import dataclasses
from typing import Sequence

import numpy as np

from common.train.errors import ConfigurationError

KINDS = ('single', 'multi')


@dataclasses.dataclass(frozen=True)
class Curriculum:
  """kind: 'single' or 'multi'; start_n: the first N (paper: 2); threshold: accuracy to advance (paper: 0.98);
  heads_added: new N values per advance of the multi-head curriculum (paper: 1)."""

  kind: str = 'multi'
  start_n: int = 2
  threshold: float = 0.98
  heads_added: int = 1

  def __post_init__(self):
    if self.kind not in KINDS:
      raise ConfigurationError(f'Curriculum.kind={self.kind!r} must be one of {KINDS}.')
    if self.start_n < 1 or self.heads_added < 1:
      raise ConfigurationError(
        f'Curriculum.start_n={self.start_n}, heads_added={self.heads_added}: both must be at least 1.'
      )
    if not 0 < self.threshold <= 1:
      raise ConfigurationError(f'Curriculum.threshold={self.threshold} must be an accuracy in (0, 1].')

  def initial(self) -> tuple[int, ...]:
    return (self.start_n,)

  def learned(self, accuracies: Sequence[float]) -> bool:
    """True when the stage is learned: mean and last-N accuracy both above the threshold."""
    acc = np.asarray(accuracies, np.float64)
    return bool(acc.mean() > self.threshold and acc[-1] > self.threshold)

  def advance(self, ns: Sequence[int]) -> tuple[int, ...]:
    """The next stage's N values."""
    ns = tuple(int(n) for n in ns)
    if self.kind == 'single':
      return (ns[-1] + 1,)
    return ns + tuple(ns[-1] + 1 + i for i in range(self.heads_added))

  def step(self, ns: Sequence[int], accuracies: Sequence[float]) -> tuple[tuple[int, ...], bool]:
    """(next ns, advanced?) after an evaluation with one accuracy per active head."""
    if len(accuracies) != len(ns):
      raise ValueError(f'{len(accuracies)} accuracies for {len(ns)} active heads {tuple(ns)}.')
    if self.learned(accuracies):
      return self.advance(ns), True
    return tuple(ns), False

  def heads_needed(self, n_max: int) -> int:
    """Output heads a model needs to reach n_max under this curriculum."""
    return 1 if self.kind == 'single' else n_max - self.start_n + 1
