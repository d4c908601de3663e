"""Univariate bases for KAN edges: small pure functions plus a registry the layers select from by name.

Every basis maps x of shape (..., in) and a per-input `grid` array of shape (in, n_grid) to basis values of shape
(..., in, num_basis). The grid means:
  bspline      the knots: grid_size + 1 points on the grid range plus `order` extra knots each side (pykan's
               extend_grid), so n_grid = grid_size + 2 * order + 1 and num_basis = grid_size + order.
  rbf          Gaussian centres (FastKAN style): grid_size + 1 centres, width = centre spacing.
  mexican_hat  Ricker-wavelet centres, the same layout as rbf.
  chebyshev    the range [lo, hi] (n_grid = 2); T_0..T_grid_size of tanh(x) (ChebyKAN's squashing), so the range
               is not used by the values, only kept so every basis has a grid.
  fourier      the range [lo, hi]; cos(m w x), sin(m w x) for m = 1..grid_size with w = pi / (hi - lo): the period
               is twice the range, so a non-periodic target on the range is not forced to wrap around.
Only the grid-based bases (bspline, rbf, mexican_hat) adapt their grid to data (`BasisSpec.adaptive`).
"""

import dataclasses
import math
from typing import Callable

import jax
import jax.numpy as jnp

from common.train.errors import ConfigurationError


def bspline_terms(x: jax.Array, knots: jax.Array, order: int) -> list[jax.Array]:
  """B-spline basis values by the Cox-de Boor recursion, as a list of n_knots - 1 - order arrays shaped like x.

  The list (basis-major) form keeps every array (..., in): no slicing along a tiny minor axis, which XLA's CPU
  backend handles badly in the backward pass; `bspline` stacks it.
  """
  b = [jnp.logical_and(x >= knots[:, j], x < knots[:, j + 1]).astype(x.dtype) for j in range(knots.shape[1] - 1)]
  for p in range(1, order + 1):
    # The knot differences are per-input constants: one reciprocal each, broadcast over the batch.
    inv = [1.0 / (knots[:, j + p] - knots[:, j]) for j in range(len(b))]
    b = [
      (x - knots[:, j]) * inv[j] * b[j] + (knots[:, j + p + 1] - x) * inv[j + 1] * b[j + 1] for j in range(len(b) - 1)
    ]
  return b


def bspline(x: jax.Array, knots: jax.Array, order: int) -> jax.Array:
  """B-spline basis values by the Cox-de Boor recursion.

  Args:
    x: (..., in) inputs.
    knots: (in, n_knots) strictly increasing knots per input.
    order: spline order k (3 = cubic).

  Returns:
    (..., in, n_knots - 1 - order). Equals scipy.interpolate.BSpline.basis_element values on the base interval
    [knots[k], knots[-k-1]]; outside the extended knots every basis is 0 (pykan's behaviour).
  """
  return jnp.stack(bspline_terms(x, knots, order), axis=-1)


def bspline_uniform_terms(x: jax.Array, start: jax.Array, step: jax.Array, num_basis: int, order: int) -> list:
  """B-spline basis on uniform knots start + step * n (n = 0, 1, ...) in closed form, without the recursion.

  Each basis is the cardinal B-spline N_k(s), s = (x - start) / step - j, evaluated by the truncated-power sum
  N_k(s) = 1/k! sum_i (-1)^i C(k+1, i) max(s - i, 0)^k on the nearer half of its symmetric support (s' = min(s,
  k+1-s) <= (k+1)/2), which keeps float32 cancellation to about 1e-6. Elementwise only, and its gradient is as
  cheap: the fast path for layers whose grid stays uniform. Same values as `bspline` on those knots.

  Args:
    x: (..., in). start, step: (in,) first knot and knot spacing. num_basis: M = n_knots - 1 - order.

  Returns:
    a list of M arrays shaped like x.
  """
  u = (x - start) / step
  out = []
  for j in range(num_basis):
    s = u - j
    if order == 0:
      out.append(jnp.logical_and(s >= 0, s < 1).astype(x.dtype))
      continue
    s = jnp.minimum(s, order + 1 - s)
    acc = jnp.maximum(s, 0.0) ** order
    for i in range(1, (order + 1) // 2 + 1):
      acc = acc + ((-1) ** i * math.comb(order + 1, i)) * jnp.maximum(s - i, 0.0) ** order
    out.append(acc * (1.0 / math.factorial(order)))
  return out


def bspline_uniform(x: jax.Array, start: jax.Array, step: jax.Array, num_basis: int, order: int) -> jax.Array:
  """`bspline_uniform_terms` stacked: (..., in) -> (..., in, num_basis)."""
  return jnp.stack(bspline_uniform_terms(x, start, step, num_basis, order), axis=-1)


def chebyshev_terms(x: jax.Array, degree: int) -> list[jax.Array]:
  """Chebyshev polynomials T_0..T_degree of tanh(x) by the three-term recursion, each shaped like x."""
  u = jnp.tanh(x)
  terms = [jnp.ones_like(u), u]
  for _ in range(2, degree + 1):
    terms.append(2.0 * u * terms[-1] - terms[-2])
  return terms[: degree + 1]


def chebyshev(x: jax.Array, degree: int) -> jax.Array:
  """(..., in) -> (..., in, degree + 1)."""
  return jnp.stack(chebyshev_terms(x, degree), axis=-1)


def fourier_terms(x: jax.Array, num_frequencies: int, omega: jax.Array | float = 1.0) -> list[jax.Array]:
  """[cos(m w x) for m=1..G] ++ [sin(m w x) for m=1..G], each shaped like x; `omega` broadcasts to x."""
  wx = x * omega
  freqs = range(1, num_frequencies + 1)
  return [jnp.cos(m * wx) for m in freqs] + [jnp.sin(m * wx) for m in freqs]


def fourier(x: jax.Array, num_frequencies: int, omega: jax.Array | float = 1.0) -> jax.Array:
  """(..., in) -> (..., in, 2G)."""
  return jnp.stack(fourier_terms(x, num_frequencies, omega), axis=-1)


def gaussian_rbf_terms(x: jax.Array, centres: jax.Array) -> list[jax.Array]:
  """exp(-((x - c) / h)^2) with h the (per-input) centre spacing; centres (in, C) -> C arrays shaped like x."""
  inv_h = (centres.shape[1] - 1) / (centres[:, -1] - centres[:, 0])
  return [jnp.exp(-jnp.square((x - centres[:, c]) * inv_h)) for c in range(centres.shape[1])]


def gaussian_rbf(x: jax.Array, centres: jax.Array) -> jax.Array:
  """(..., in), (in, C) -> (..., in, C)."""
  return jnp.stack(gaussian_rbf_terms(x, centres), axis=-1)


def mexican_hat_terms(x: jax.Array, centres: jax.Array) -> list[jax.Array]:
  """Ricker wavelet (1 - u^2) exp(-u^2 / 2), u = (x - c) / h; centres (in, C) -> C arrays shaped like x."""
  inv_h = (centres.shape[1] - 1) / (centres[:, -1] - centres[:, 0])
  out = []
  for c in range(centres.shape[1]):
    u2 = jnp.square((x - centres[:, c]) * inv_h)
    out.append((1.0 - u2) * jnp.exp(-0.5 * u2))
  return out


def mexican_hat(x: jax.Array, centres: jax.Array) -> jax.Array:
  """(..., in), (in, C) -> (..., in, C)."""
  return jnp.stack(mexican_hat_terms(x, centres), axis=-1)


def uniform_knots(grid_size: int, order: int, grid_range=(-1.0, 1.0)) -> jax.Array:
  """grid_size + 1 uniform knots on grid_range extended by `order` knots each side: (grid_size + 2 order + 1,)."""
  lo, hi = grid_range
  h = (hi - lo) / grid_size
  return lo + h * jnp.arange(-order, grid_size + order + 1, dtype=jnp.float32)


def extend_knots(interior: jax.Array, order: int) -> jax.Array:
  """(in, G+1) interior knots -> (in, G+2k+1): k knots each side at the mean interior spacing (pykan extend_grid)."""
  h = (interior[:, -1:] - interior[:, :1]) / (interior.shape[1] - 1)
  steps = jnp.arange(1, order + 1, dtype=interior.dtype)
  left = interior[:, :1] - h * steps[::-1]
  right = interior[:, -1:] + h * steps
  return jnp.concatenate([left, interior, right], axis=1)


@dataclasses.dataclass(frozen=True)
class BasisSpec:
  """How one basis is sized, laid out and evaluated.

  terms(x (..., in), grid (in, n_grid), grid_size, order) -> list of num_basis(grid_size, order) arrays like x.
  evaluate(...) -> the same stacked, (..., in, num_basis).
  initial_grid(in_dim, grid_size, order, grid_range) -> (in, n_grid).
  interior(grid, order) -> (in, grid_size + 1): the points that span the grid range (used for init and refits).
  from_interior(points (in, grid_size+1), order) -> grid: the inverse, for grid updates (adaptive bases only).
  """

  name: str
  num_basis: Callable[[int, int], int]
  terms: Callable[[jax.Array, jax.Array, int, int], list]
  initial_grid: Callable[[int, int, int, tuple], jax.Array]
  interior: Callable[[jax.Array, int], jax.Array]
  from_interior: Callable[[jax.Array, int], jax.Array]
  adaptive: bool

  def evaluate(self, x: jax.Array, grid: jax.Array, grid_size: int, order: int) -> jax.Array:
    return jnp.stack(self.terms(x, grid, grid_size, order), axis=-1)


def _range_grid(in_dim, grid_size, order, grid_range):
  return jnp.tile(jnp.asarray(grid_range, jnp.float32)[None], (in_dim, 1))


def _centre_grid(in_dim, grid_size, order, grid_range):
  return jnp.tile(jnp.linspace(grid_range[0], grid_range[1], grid_size + 1, dtype=jnp.float32)[None], (in_dim, 1))


def _range_interior(grid, order):
  del order
  return grid


def _fourier_terms(x, grid, grid_size, order):
  omega = math.pi / (grid[:, 1] - grid[:, 0])
  return fourier_terms(x, grid_size, omega)


BASES: dict[str, BasisSpec] = {
  'bspline': BasisSpec(
    'bspline',
    num_basis=lambda g, k: g + k,
    terms=lambda x, grid, g, k: bspline_terms(x, grid, k),
    initial_grid=lambda n, g, k, r: jnp.tile(uniform_knots(g, k, r)[None], (n, 1)),
    interior=lambda grid, k: grid[:, k : grid.shape[1] - k],
    from_interior=extend_knots,
    adaptive=True,
  ),
  'chebyshev': BasisSpec(
    'chebyshev',
    num_basis=lambda g, k: g + 1,
    terms=lambda x, grid, g, k: chebyshev_terms(x, g),
    initial_grid=_range_grid,
    interior=_range_interior,
    from_interior=lambda pts, k: pts,
    adaptive=False,
  ),
  'fourier': BasisSpec(
    'fourier',
    num_basis=lambda g, k: 2 * g,
    terms=_fourier_terms,
    initial_grid=_range_grid,
    interior=_range_interior,
    from_interior=lambda pts, k: pts,
    adaptive=False,
  ),
  'rbf': BasisSpec(
    'rbf',
    num_basis=lambda g, k: g + 1,
    terms=lambda x, grid, g, k: gaussian_rbf_terms(x, grid),
    initial_grid=_centre_grid,
    interior=_range_interior,
    from_interior=lambda pts, k: pts,
    adaptive=True,
  ),
  'mexican_hat': BasisSpec(
    'mexican_hat',
    num_basis=lambda g, k: g + 1,
    terms=lambda x, grid, g, k: mexican_hat_terms(x, grid),
    initial_grid=_centre_grid,
    interior=_range_interior,
    from_interior=lambda pts, k: pts,
    adaptive=True,
  ),
}


def get_basis(name: str, *, param: str = 'basis') -> BasisSpec:
  """The spec for `name`; raises ConfigurationError naming `param` for an unknown name."""
  if name not in BASES:
    raise ConfigurationError(f'{param}={name!r} is not a known basis; choose one of {sorted(BASES)}.')
  return BASES[name]


def check_grid(basis: str, grid_size: int, order: int, grid_range, *, owner: str) -> None:
  """Validates grid settings at configuration time; `owner` prefixes the parameter names in messages."""
  get_basis(basis, param=f'{owner}.basis')
  if order < 0 or int(order) != order:
    raise ConfigurationError(f'{owner}.order={order} must be a non-negative integer (3 = cubic splines).')
  min_size = max(order, 1)
  if grid_size < min_size:
    raise ConfigurationError(
      f'{owner}.grid_size={grid_size} gives a grid of {grid_size + 1} points, fewer than order+1={order + 1} '
      f'(basis {basis!r}); use grid_size >= {min_size} or a lower order.'
    )
  lo, hi = grid_range
  if not hi > lo:
    raise ConfigurationError(f'{owner}.grid_range={tuple(grid_range)} must be an increasing pair (lo, hi).')
