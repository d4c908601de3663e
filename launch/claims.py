"""Checking a paper's claim on seed-paired runs: the gap between two conditions and a 2-standard-error verdict.

The projects' launch-report analyses (projects/<p>/analysis.py) compare conditions run on the same seeds. A claim
"A at least B" or "A above B" is judged on the seed-paired differences d_s = A_s - B_s:

  gap = (mean d, standard error of the mean d = sample std / sqrt(n), n)   over the seeds both conditions have

  above(gap):     'holds' when mean > 2 SE, 'does not hold' otherwise (below by > 2 SE, or not distinguishable)
  at_least(gap):  'holds' when mean >= 0; below by at most 2 SE is 'within noise'; further below 'does not hold'

With one seed there is no standard error: the verdict then says so instead of guessing.
"""

import math

from launch import report as report_lib

Gap = tuple[float, float | None, int]  # (mean difference, its standard error or None with one seed, n seeds)


def by_seed(runs, value, finite_only: bool = False) -> dict:
  """{seed: float(value(run))} over runs (their SEED binding): one side of paired_gap. With finite_only a value that
  is None or not finite is left out (a diverged run is then not paired)."""
  out = {}
  for run in runs:
    v = value(run)
    if not finite_only or (v is not None and math.isfinite(float(v))):
      out[report_lib.config_value(run, 'SEED')] = float(v)
  return out


def paired_gap(a: dict, b: dict) -> Gap | None:
  """{seed: value} x2 -> the gap of a - b over the seeds both have, or None if they share none."""
  diffs = [a[s] - b[s] for s in sorted(set(a) & set(b))]
  if not diffs:
    return None
  st = report_lib.stat(diffs)
  return st.mean, (st.std / math.sqrt(st.n) if st.std is not None else None), st.n


def above(gap: Gap | None) -> str:
  """The verdict on 'A above B' (module docstring)."""
  if gap is None:
    return 'not measured'
  mean, sem, _ = gap
  if sem is None:
    return 'one seed: no verdict (above)' if mean > 0 else 'one seed: no verdict (not above)'
  if mean > 2 * sem:
    return 'above: holds'
  if mean < -2 * sem:
    return 'below: does not hold'
  return 'not distinguishable (within 2 SE): does not hold'


def at_least(gap: Gap | None) -> str:
  """The verdict on 'A at least B' (module docstring)."""
  if gap is None:
    return 'not measured'
  mean, sem, _ = gap
  if mean >= 0:
    return 'at least: holds'
  if sem is None:
    return 'one seed: no verdict (below)'
  if -mean <= 2 * sem:
    return 'below, within noise (< 2 SE)'
  return 'below: does not hold'


def gap_text(gap: Gap | None, digits: int = 4) -> str:
  """'+0.0123 ± 0.0045 (n=5)': the mean difference ± its standard error, for a table cell."""
  if gap is None:
    return '-'
  mean, sem, n = gap
  return f'{mean:+.{digits}f}' + (f' ± {sem:.{digits}f}' if sem is not None else '') + f' (n={n})'


def seeds_cell(seeds: dict | None) -> str:
  """{seed: value} -> 'mean ± std (n)' as launch report writes it, or '-'."""
  return report_lib.fmt_stat(report_lib.stat(list(seeds.values()))) if seeds else '-'
