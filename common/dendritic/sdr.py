"""Sparse distributed representations: exact match probabilities (Ahmad & Hawkins 2016) and a Monte-Carlo check.

Setup. A population of n cells, of which a are active (an SDR). A dendritic segment holds s synapses onto cells
and fires when at least theta of them are active.

  False match: a random SDR (a of n, uniform) triggers a segment whose s synapses were sampled from some other
  pattern:  P_fm = sum_{b=theta}^{s} C(s, b) C(n - s, a - b) / C(n, a)          (eq. 2 of the paper)
  False negative: the segment's s synapses were sampled from the a active cells of a stored pattern x; a noisy
  copy of x moves v of its a active cells elsewhere. The segment misses the copy when more than s - theta of
  its synapses lost their cell:  P_fn = sum_{k=s-theta+1}^{min(s,v)} C(s, k) C(a - s, v - k) / C(a, v)
  Union of M patterns: the segment holds s synapses from each of M patterns (up to M*s distinct synapses). The
  paper substitutes s -> M*s (an upper bound, because samples can coincide). `false_match_union` is exact: it
  averages P_fm(n, a, u, theta) over the distribution of the number u of distinct synapses, which is a Markov
  chain over the M draws (each draw is a uniform s-subset of n cells).

All probabilities are computed as log-sums of log-binomials (`gammaln`, `logsumexp`) in float64, so n in the
thousands or millions does not overflow; `*_log10` variants return log10 P for values below double range.
The Monte-Carlo estimators build the SDRs explicitly (random index sets, masks, overlaps) in JAX, vectorised
over samples and chunked with lax.map.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import gammaln, logsumexp

from common.train.errors import ConfigurationError

_LN10 = np.log(10.0)


def check_sdr(n: int, a: int, s: int, theta: int, *, v: int | None = None, union: int | None = None) -> None:
  """Validates (n, a, s, theta[, v, union]); raises ConfigurationError naming the bad parameter."""
  if n < 1:
    raise ConfigurationError(f'n={n} must be a positive number of cells.')
  if not 0 <= a <= n:
    raise ConfigurationError(f'a={a} must be between 0 and n={n} (active cells of the population).')
  if not 0 <= s <= n:
    raise ConfigurationError(f's={s} must be between 0 and n={n} (synapses on the segment).')
  if theta > s:
    raise ConfigurationError(f'theta={theta} is above s={s}: the threshold must be at most the number of synapses.')
  if theta < 0:
    raise ConfigurationError(f'theta={theta} must be non-negative.')
  if v is not None and not 0 <= v <= a:
    raise ConfigurationError(f'v={v} (noise bits) must be between 0 and a={a}.')
  if union is not None and union < 1:
    raise ConfigurationError(f'union={union} must be at least 1 pattern.')


def log_comb(n, k) -> np.ndarray:
  """log C(n, k) elementwise; -inf where k < 0 or k > n."""
  n, k = np.asarray(n, np.float64), np.asarray(k, np.float64)
  valid = (k >= 0) & (k <= n)
  n_, k_ = np.where(valid, n, 1.0), np.where(valid, k, 0.0)
  out = gammaln(n_ + 1) - gammaln(k_ + 1) - gammaln(n_ - k_ + 1)
  return np.where(valid, out, -np.inf)


def log_false_match(n: int, a: int, s: int, theta: int) -> float:
  """Natural log of the false-match probability of one segment (see module docstring)."""
  check_sdr(n, a, s, theta)
  b = np.arange(theta, s + 1)
  if b.size == 0:
    return -np.inf
  terms = log_comb(s, b) + log_comb(n - s, a - b) - log_comb(n, a)
  return float(logsumexp(terms)) if np.isfinite(terms).any() else -np.inf


def false_match(n: int, a: int, s: int, theta: int) -> float:
  return float(np.exp(log_false_match(n, a, s, theta)))


def false_match_log10(n: int, a: int, s: int, theta: int) -> float:
  return log_false_match(n, a, s, theta) / _LN10


def log_false_negative(a: int, s: int, theta: int, v: int) -> float:
  """Natural log of the probability that a segment with s synapses on a stored pattern (a active cells) misses
  a copy of the pattern in which v active cells were replaced by others."""
  check_sdr(max(a, s), a, s, theta, v=v)
  if s > a:
    raise ConfigurationError(f's={s} must be at most a={a}: the segment samples its synapses from the pattern.')
  k = np.arange(s - theta + 1, min(s, v) + 1)
  if k.size == 0:
    return -np.inf
  terms = log_comb(s, k) + log_comb(a - s, v - k) - log_comb(a, v)
  return float(logsumexp(terms)) if np.isfinite(terms).any() else -np.inf


def false_negative(a: int, s: int, theta: int, v: int) -> float:
  return float(np.exp(log_false_negative(a, s, theta, v)))


def union_size_distribution(n: int, s: int, union: int) -> np.ndarray:
  """P(U = u) for u = 0..union*s, U the number of distinct cells in the union of `union` uniform s-subsets of n."""
  check_sdr(n, min(s, n), s, 0, union=union)
  size = union * s + 1
  logp = np.full(size, -np.inf)
  logp[0] = 0.0
  u = np.arange(size)
  for _ in range(union):
    new = np.full(size, -np.inf)
    for j in range(s + 1):  # j new cells join a union of size u
      step = log_comb(n - u, j) + log_comb(u, s - j) - log_comb(n, s)
      shifted = np.full(size, -np.inf)
      shifted[j:] = (logp + step)[: size - j]
      new = np.logaddexp(new, shifted)
    logp = new
  return np.exp(logp)


def log_false_match_union(n: int, a: int, s: int, theta: int, union: int, *, exact: bool = True) -> float:
  """Natural log of the false-match probability of a segment holding s synapses from each of `union` patterns.

  exact=True averages over the number of distinct synapses; exact=False uses the paper's s -> union*s.
  """
  check_sdr(n, a, s, theta, union=union)
  if not exact:
    return log_false_match(n, a, min(union * s, n), theta)
  dist = union_size_distribution(n, s, union)
  sizes = np.nonzero(dist > 0)[0]
  sizes = sizes[sizes >= theta]
  if sizes.size == 0:
    return -np.inf
  terms = [np.log(dist[u]) + log_false_match(n, a, int(u), theta) for u in sizes]
  return float(logsumexp(terms))


def false_match_union(n: int, a: int, s: int, theta: int, union: int, *, exact: bool = True) -> float:
  return float(np.exp(log_false_match_union(n, a, s, theta, union, exact=exact)))


# ---------------------------------------------------------------------------------------------------------------
# Monte-Carlo estimators (explicit random SDRs in JAX). Each returns (estimate, standard error, num_samples).


def _random_subset_mask(key, n: int, k: int) -> jax.Array:
  """A {0,1} vector of length n with exactly k ones at uniformly random positions."""
  idx = jax.lax.top_k(jax.random.uniform(key, (n,)), k)[1] if k > 0 else jnp.zeros((0,), jnp.int32)
  return jnp.zeros((n,), jnp.float32).at[idx].set(1.0)


def _random_subset(key, n: int, k: int) -> jax.Array:
  """k distinct indices drawn uniformly from range(n)."""
  return jax.lax.top_k(jax.random.uniform(key, (n,)), k)[1]


@functools.partial(jax.jit, static_argnames=('n', 'a', 's', 'theta', 'union', 'num_samples', 'chunk'))
def _mc_false_match(key, *, n, a, s, theta, union, num_samples, chunk):
  def one(k):
    k_pat, k_seg = jax.random.split(k)
    # The segment: s synapses sampled from each of `union` random patterns of a active cells.
    seg_keys = jax.random.split(k_seg, union)

    def synapses(kk):
      k1, k2 = jax.random.split(kk)
      stored = _random_subset(k1, n, a)  # a stored pattern
      return stored[_random_subset(k2, a, s)]  # s of its active cells

    syn = jax.vmap(synapses)(seg_keys).reshape(-1)
    segment = jnp.zeros((n,), jnp.float32).at[syn].set(1.0)  # distinct synapses (a union may repeat cells)
    probe = _random_subset_mask(k_pat, n, a)  # an unrelated random SDR
    return (segment @ probe) >= theta

  keys = jax.random.split(key, num_samples).reshape(num_samples // chunk, chunk, -1)
  hits = jax.lax.map(lambda ks: jnp.sum(jax.vmap(one)(ks)), keys)
  return jnp.sum(hits)


def monte_carlo_false_match(
  key, n: int, a: int, s: int, theta: int, *, union: int = 1, num_samples: int = 100_000, chunk: int = 4096
) -> tuple[float, float, int]:
  """Fraction of random SDRs that trigger a random segment (optionally a union of `union` patterns)."""
  check_sdr(n, a, s, theta, union=union)
  if s > a:
    raise ConfigurationError(f's={s} must be at most a={a}: synapses are sampled from a pattern.')
  chunk = min(chunk, num_samples)
  num_samples = (num_samples // chunk) * chunk
  hits = int(_mc_false_match(key, n=n, a=a, s=s, theta=theta, union=union, num_samples=num_samples, chunk=chunk))
  p = hits / num_samples
  return p, float(np.sqrt(max(p * (1 - p), 1e-300) / num_samples)), num_samples


@functools.partial(jax.jit, static_argnames=('a', 's', 'theta', 'v', 'num_samples', 'chunk'))
def _mc_false_negative(key, *, a, s, theta, v, num_samples, chunk):
  def one(k):
    k_seg, k_noise = jax.random.split(k)
    # Cells 0..a-1 are the stored pattern; the segment samples s of them; noise removes v of them (the v
    # replacement cells are outside the pattern, hence never on the segment).
    segment = _random_subset_mask(k_seg, a, s)
    kept = 1.0 - _random_subset_mask(k_noise, a, v)
    return (segment @ kept) < theta

  keys = jax.random.split(key, num_samples).reshape(num_samples // chunk, chunk, -1)
  return jnp.sum(jax.lax.map(lambda ks: jnp.sum(jax.vmap(one)(ks)), keys))


def monte_carlo_false_negative(
  key, a: int, s: int, theta: int, v: int, *, num_samples: int = 100_000, chunk: int = 4096
) -> tuple[float, float, int]:
  """Fraction of noisy copies of a stored pattern that fail to trigger the segment."""
  check_sdr(max(a, s), a, s, theta, v=v)
  chunk = min(chunk, num_samples)
  num_samples = (num_samples // chunk) * chunk
  misses = int(_mc_false_negative(key, a=a, s=s, theta=theta, v=v, num_samples=num_samples, chunk=chunk))
  p = misses / num_samples
  return p, float(np.sqrt(max(p * (1 - p), 1e-300) / num_samples)), num_samples
