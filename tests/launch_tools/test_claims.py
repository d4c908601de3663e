"""launch/claims.py: seed-paired gaps and the 2-SE verdicts, on numbers worked by hand."""

import math

import pytest

from launch import claims


def test_paired_gap_uses_only_shared_seeds():
  gap = claims.paired_gap({0: 1.0, 1: 2.0, 2: 4.0, 9: 100.0}, {0: 0.0, 1: 1.0, 2: 1.0})
  mean, sem, n = gap
  assert n == 3 and mean == pytest.approx(5 / 3)
  diffs = [1.0, 1.0, 3.0]
  std = math.sqrt(sum((d - 5 / 3) ** 2 for d in diffs) / 2)  # ddof=1
  assert sem == pytest.approx(std / math.sqrt(3))
  assert claims.paired_gap({0: 1.0}, {1: 1.0}) is None


@pytest.mark.parametrize(
  'gap, above, at_least',
  [
    ((0.3, 0.1, 5), 'above: holds', 'at least: holds'),
    ((0.1, 0.1, 5), 'not distinguishable (within 2 SE): does not hold', 'at least: holds'),
    ((-0.1, 0.1, 5), 'not distinguishable (within 2 SE): does not hold', 'below, within noise (< 2 SE)'),
    ((-0.3, 0.1, 5), 'below: does not hold', 'below: does not hold'),
    ((0.3, None, 1), 'one seed: no verdict (above)', 'at least: holds'),
    (None, 'not measured', 'not measured'),
  ],
)
def test_verdicts(gap, above, at_least):
  assert claims.above(gap) == above
  assert claims.at_least(gap) == at_least


def test_cells():
  assert claims.gap_text((0.01234, 0.005, 5)) == '+0.0123 ± 0.0050 (n=5)'
  assert claims.gap_text(None) == '-' and claims.seeds_cell(None) == '-'
  assert '±' in claims.seeds_cell({0: 1.0, 1: 2.0})
