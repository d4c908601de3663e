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
# Monte-Carlo estimators in JAX, vectorised over samples and chunked with lax.map. Each builds random SDRs and
# returns a histogram of overlaps, so one run gives the estimate for every threshold theta at once.
#
#   method='explicit': SDRs are materialised as index sets / masks of all n cells (top-k of uniform noise), the
#     segment's synapses are sampled from a random stored pattern, the overlap is a dot product. O(n) per sample.
#   method='sequential': the probe SDR is drawn cell by cell with selection sampling (Knuth's Algorithm S: cell i
#     is active with probability (a - active so far) / (n - i)), which yields a uniformly random a-of-n SDR; by
#     symmetry the segment occupies cells 0..s-1, so only those s cells need to be drawn. O(s) per sample, which
#     makes 10^6 samples at n = 4096 cheap. Only for a single segment (union=1).


def _random_subset_mask(key, n: int, k: int) -> jax.Array:
  """A {0,1} vector of length n with exactly k ones at uniformly random positions."""
  if k == 0:
    return jnp.zeros((n,), jnp.float32)
  idx = jax.lax.top_k(jax.random.uniform(key, (n,)), k)[1]
  return jnp.zeros((n,), jnp.float32).at[idx].set(1.0)


def _random_subset(key, n: int, k: int) -> jax.Array:
  """k distinct indices drawn uniformly from range(n)."""
  return jax.lax.top_k(jax.random.uniform(key, (n,)), k)[1]


def _histogram(overlaps, size):
  return jnp.sum(jax.nn.one_hot(overlaps, size, dtype=jnp.int32), axis=0)


@functools.partial(jax.jit, static_argnames=('n', 'a', 's', 'union', 'num_chunks', 'chunk'))
def _mc_overlap_explicit(key, *, n, a, s, union, num_chunks, chunk):
  def one(k):
    k_pat, k_seg = jax.random.split(k)

    def synapses(kk):
      k1, k2 = jax.random.split(kk)
      stored = _random_subset(k1, n, a)  # a stored pattern: a active cells of n
      return stored[_random_subset(k2, a, s)]  # the segment samples s of them

    syn = jax.vmap(synapses)(jax.random.split(k_seg, union)).reshape(-1)
    segment = jnp.zeros((n,), jnp.float32).at[syn].set(1.0)  # distinct synapses (a union may repeat cells)
    probe = _random_subset_mask(k_pat, n, a)  # an unrelated random SDR
    return (segment @ probe).astype(jnp.int32)

  keys = jax.random.split(key, num_chunks * chunk).reshape(num_chunks, chunk, -1)
  hists = jax.lax.map(lambda ks: _histogram(jax.vmap(one)(ks), union * s + 1), keys)
  return jnp.sum(hists, axis=0)


@functools.partial(jax.jit, static_argnames=('n', 'a', 's', 'num_chunks', 'chunk'))
def _mc_overlap_sequential(key, *, n, a, s, num_chunks, chunk):
  def one_chunk(k):
    u = jax.random.uniform(k, (s, chunk))

    def cell(active, inputs):
      i, ui = inputs
      on = ui * (n - i) < (a - active)  # P(on) = (a - active) / (n - i)
      return active + on.astype(jnp.int32), None

    active, _ = jax.lax.scan(cell, jnp.zeros((chunk,), jnp.int32), (jnp.arange(s), u))
    return _histogram(active, s + 1)

  return jnp.sum(jax.lax.map(one_chunk, jax.random.split(key, num_chunks)), axis=0)


def _chunks(num_samples: int, chunk: int) -> tuple[int, int]:
  if num_samples < 1:
    raise ConfigurationError(f'num_samples={num_samples} must be at least 1.')
  chunk = max(1, min(chunk, num_samples))
  return max(1, num_samples // chunk), chunk


def overlap_histogram(
  key, n: int, a: int, s: int, *, union: int = 1, num_samples: int = 100_000, chunk: int = 4096, method='explicit'
) -> np.ndarray:
  """Counts of the overlap b = |segment & random SDR| for b = 0..union*s over Monte-Carlo samples."""
  check_sdr(n, a, s, 0, union=union)
  if s > a:
    raise ConfigurationError(f's={s} must be at most a={a}: synapses are sampled from a pattern.')
  num_chunks, chunk = _chunks(num_samples, chunk)
  if method == 'explicit':
    hist = _mc_overlap_explicit(key, n=n, a=a, s=s, union=union, num_chunks=num_chunks, chunk=chunk)
  elif method == 'sequential':
    if union != 1:
      raise ConfigurationError(f"method='sequential' handles union=1 only (got union={union}); use 'explicit'.")
    hist = _mc_overlap_sequential(key, n=n, a=a, s=s, num_chunks=num_chunks, chunk=chunk)
  else:
    raise ConfigurationError(f"method={method!r} is unknown; choose 'explicit' or 'sequential'.")
  return np.asarray(hist, np.int64)


def tail_estimate(hist: np.ndarray, theta: int) -> tuple[float, float, int]:
  """(P(overlap >= theta), its standard error, number of samples) from an overlap histogram."""
  total = int(hist.sum())
  p = float(hist[theta:].sum()) / total
  return p, float(np.sqrt(p * (1 - p) / total)), total


def monte_carlo_false_match(
  key,
  n: int,
  a: int,
  s: int,
  theta: int,
  *,
  union: int = 1,
  num_samples: int = 100_000,
  chunk: int = 4096,
  method: str = 'explicit',
) -> tuple[float, float, int]:
  """Fraction of random SDRs that trigger a random segment (optionally a union of `union` patterns)."""
  check_sdr(n, a, s, theta, union=union)
  hist = overlap_histogram(key, n, a, s, union=union, num_samples=num_samples, chunk=chunk, method=method)
  return tail_estimate(hist, theta)


@functools.partial(jax.jit, static_argnames=('a', 's', 'num_chunks', 'chunk'))
def _mc_kept_explicit(key, v, *, a, s, num_chunks, chunk):
  def one(k):
    k_seg, k_noise = jax.random.split(k)
    # Cells 0..a-1 are the stored pattern; the segment samples s of them; noise removes v of them (the v
    # replacement cells are outside the pattern, hence never on the segment).
    segment = _random_subset_mask(k_seg, a, s)
    rank = jnp.argsort(jnp.argsort(jax.random.uniform(k_noise, (a,))))  # a uniformly random order of the cells
    kept = (rank >= v).astype(jnp.float32)  # the first v in that order are moved away (v is traced: one compile)
    return (segment @ kept).astype(jnp.int32)

  keys = jax.random.split(key, num_chunks * chunk).reshape(num_chunks, chunk, -1)
  return jnp.sum(jax.lax.map(lambda ks: _histogram(jax.vmap(one)(ks), s + 1), keys), axis=0)


def monte_carlo_false_negative(
  key, a: int, s: int, theta: int, v: int, *, num_samples: int = 100_000, chunk: int = 4096
) -> tuple[float, float, int]:
  """Fraction of noisy copies of a stored pattern that fail to trigger the segment (explicit SDRs)."""
  check_sdr(max(a, s), a, s, theta, v=v)
  if s > a:
    raise ConfigurationError(f's={s} must be at most a={a}: the segment samples its synapses from the pattern.')
  num_chunks, chunk = _chunks(num_samples, chunk)
  hist = np.asarray(_mc_kept_explicit(key, v, a=a, s=s, num_chunks=num_chunks, chunk=chunk), np.int64)
  p_hit, se, total = tail_estimate(hist, theta)
  return 1.0 - p_hit, se, total


def kept_histogram(key, a: int, s: int, v: int, *, num_samples: int = 100_000, chunk: int = 4096) -> np.ndarray:
  """Counts of the segment's remaining overlap with a noisy copy of its pattern, b = 0..s."""
  check_sdr(max(a, s), a, s, 0, v=v)
  num_chunks, chunk = _chunks(num_samples, chunk)
  return np.asarray(_mc_kept_explicit(key, v, a=a, s=s, num_chunks=num_chunks, chunk=chunk), np.int64)
