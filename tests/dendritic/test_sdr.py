"""SDR theory: closed forms against brute-force counting and Monte-Carlo; log space; bad input."""

import itertools
import math

import jax
import numpy as np
import pytest

from common.dendritic import sdr
from common.train.errors import ConfigurationError


def _brute_false_match(n, a, s, theta):
  segment = set(range(s))
  hits = total = 0
  for pattern in itertools.combinations(range(n), a):
    total += 1
    hits += len(segment.intersection(pattern)) >= theta
  return hits / total


@pytest.mark.parametrize('n, a, s, theta', [(10, 4, 3, 2), (12, 5, 4, 1), (9, 3, 3, 3), (8, 4, 4, 0)])
def test_false_match_equals_enumeration(n, a, s, theta):
  np.testing.assert_allclose(sdr.false_match(n, a, s, theta), _brute_false_match(n, a, s, theta), rtol=1e-10)


def test_false_match_exact_sum_with_integers():
  n, a, s, theta = 500, 20, 12, 6
  exact = sum(math.comb(s, b) * math.comb(n - s, a - b) for b in range(theta, s + 1)) / math.comb(n, a)
  np.testing.assert_allclose(sdr.false_match(n, a, s, theta), exact, rtol=1e-9)


def test_log_space_survives_huge_n_and_falls_with_n():
  logs = [sdr.false_match_log10(n, 64, 24, 12) for n in (256, 1024, 4096, 10**6)]
  assert all(np.isfinite(logs))
  with pytest.raises(OverflowError):
    float(math.comb(10**6, 200))  # the direct ratio of binomials cannot even be formed in floating point
  assert np.isfinite(sdr.false_match_log10(10**6, 200, 24, 12))
  assert sdr.false_match_log10(10**15, 64, 24, 24) < -300  # below double range: only the log form reports it
  assert all(x > y + 1 for x, y in zip(logs, logs[1:]))  # orders of magnitude per step


def test_false_negative_against_integer_formula_and_limits():
  a, s, theta, v = 40, 20, 12, 15
  exact = sum(math.comb(s, k) * math.comb(a - s, v - k) for k in range(s - theta + 1, min(s, v) + 1)) / math.comb(a, v)
  np.testing.assert_allclose(sdr.false_negative(a, s, theta, v), exact, rtol=1e-9)
  assert sdr.false_negative(a, s, theta, 0) == 0.0  # no noise, no miss
  assert sdr.false_negative(a, s, theta, s - theta) == 0.0  # too little noise to drop below theta


def test_union_distribution_and_bounds():
  dist = sdr.union_size_distribution(100, 5, 3)
  np.testing.assert_allclose(dist.sum(), 1.0, atol=1e-12)
  mean = np.sum(np.arange(dist.size) * dist)
  np.testing.assert_allclose(mean, 100 * (1 - (1 - 5 / 100) ** 3), rtol=1e-9)  # E|union| of uniform subsets
  assert sdr.false_match_union(256, 20, 10, 5, 1) == pytest.approx(sdr.false_match(256, 20, 10, 5))
  exact = sdr.false_match_union(256, 20, 10, 5, 6)
  assert sdr.false_match(256, 20, 10, 5) < exact <= sdr.false_match_union(256, 20, 10, 5, 6, exact=False)


@pytest.mark.parametrize('union', [3])
def test_monte_carlo_false_match_agrees(union):
  n, a, s, theta = 120, 30, 10, 4
  p, se, _ = sdr.monte_carlo_false_match(
    jax.random.PRNGKey(union), n, a, s, theta, union=union, num_samples=4096, chunk=1024
  )
  exact = sdr.false_match_union(n, a, s, theta, union)
  assert abs(p - exact) < 4.5 * max(se, 1e-4), (p, exact, se)


def test_monte_carlo_false_negative_agrees():
  p, se, _ = sdr.monte_carlo_false_negative(jax.random.PRNGKey(0), 40, 20, 12, 15, num_samples=4096, chunk=1024)
  assert abs(p - sdr.false_negative(40, 20, 12, 15)) < 4.5 * se


@pytest.mark.parametrize(
  'call, word',
  [
    (lambda: sdr.false_match(1024, 20, 10, 11), 'theta'),
    (lambda: sdr.false_match(10, 20, 5, 2), 'a='),
    (lambda: sdr.false_negative(20, 10, 5, 30), 'v='),
    (lambda: sdr.false_match_union(100, 10, 5, 2, 0), 'union'),
  ],
)
def test_bad_input(call, word):
  with pytest.raises(ConfigurationError, match=word):
    call()


def test_sequential_sampler_agrees_with_closed_form_for_every_theta():
  n, a, s = 300, 40, 12
  hist = sdr.overlap_histogram(jax.random.PRNGKey(3), n, a, s, num_samples=50_000, chunk=10_000, method='sequential')
  assert hist.sum() == 50_000
  for theta in range(1, 6):
    p, se, _ = sdr.tail_estimate(hist, theta)
    assert abs(p - sdr.false_match(n, a, s, theta)) < 4.5 * max(se, 1e-4)
