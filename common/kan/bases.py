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
  x = x[..., None]
  b = jnp.logical_and(x >= knots[:, :-1], x < knots[:, 1:]).astype(x.dtype)
  for p in range(1, order + 1):
    # The knot differences are per-input constants: one reciprocal each, broadcast over the batch.
    inv_left = 1.0 / (knots[:, p:-1] - knots[:, : -(p + 1)])
    inv_right = 1.0 / (knots[:, p + 1 :] - knots[:, 1:-p])
    b = (x - knots[:, : -(p + 1)]) * inv_left * b[..., :-1] + (knots[:, p + 1 :] - x) * inv_right * b[..., 1:]
  return b


def chebyshev(x: jax.Array, degree: int) -> jax.Array:
  """Chebyshev polynomials T_0..T_degree of tanh(x) by the three-term recursion: (..., in) -> (..., in, degree+1)."""
  u = jnp.tanh(x)
  terms = [jnp.ones_like(u), u]
  for _ in range(2, degree + 1):
    terms.append(2.0 * u * terms[-1] - terms[-2])
  return jnp.stack(terms[: degree + 1], axis=-1)


def fourier(x: jax.Array, num_frequencies: int, omega: jax.Array | float = 1.0) -> jax.Array:
  """[cos(m w x) for m=1..G] ++ [sin(m w x) for m=1..G]: (..., in) -> (..., in, 2G). `omega` broadcasts to (in,)."""
  m = jnp.arange(1, num_frequencies + 1, dtype=x.dtype)
  phase = (x * omega)[..., None] * m
  return jnp.concatenate([jnp.cos(phase), jnp.sin(phase)], axis=-1)


def gaussian_rbf(x: jax.Array, centres: jax.Array) -> jax.Array:
  """exp(-((x - c) / h)^2) with h the (per-input) centre spacing: (..., in), (in, C) -> (..., in, C)."""
  h = (centres[:, -1:] - centres[:, :1]) / (centres.shape[1] - 1)
  u = (x[..., None] - centres) / h
  return jnp.exp(-jnp.square(u))


def mexican_hat(x: jax.Array, centres: jax.Array) -> jax.Array:
  """Ricker wavelet (1 - u^2) exp(-u^2 / 2), u = (x - c) / h: (..., in), (in, C) -> (..., in, C)."""
  h = (centres[:, -1:] - centres[:, :1]) / (centres.shape[1] - 1)
  u2 = jnp.square((x[..., None] - centres) / h)
  return (1.0 - u2) * jnp.exp(-0.5 * u2)


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

  evaluate(x (..., in), grid (in, n_grid), grid_size, order) -> (..., in, num_basis(grid_size, order)).
  initial_grid(in_dim, grid_size, order, grid_range) -> (in, n_grid).
  interior(grid, order) -> (in, grid_size + 1): the points that span the grid range (used for init and refits).
  from_interior(points (in, grid_size+1), order) -> grid: the inverse, for grid updates (adaptive bases only).
  """

  name: str
  num_basis: Callable[[int, int], int]
  evaluate: Callable[[jax.Array, jax.Array, int, int], jax.Array]
  initial_grid: Callable[[int, int, int, tuple], jax.Array]
  interior: Callable[[jax.Array, int], jax.Array]
  from_interior: Callable[[jax.Array, int], jax.Array]
  adaptive: bool


def _range_grid(in_dim, grid_size, order, grid_range):
  return jnp.tile(jnp.asarray(grid_range, jnp.float32)[None], (in_dim, 1))


def _centre_grid(in_dim, grid_size, order, grid_range):
  return jnp.tile(jnp.linspace(grid_range[0], grid_range[1], grid_size + 1, dtype=jnp.float32)[None], (in_dim, 1))


def _range_interior(grid, order):
  del order
  return grid


def _fourier_eval(x, grid, grid_size, order):
  omega = math.pi / (grid[:, 1] - grid[:, 0])
  return fourier(x, grid_size, omega)


BASES: dict[str, BasisSpec] = {
  'bspline': BasisSpec(
    'bspline',
    num_basis=lambda g, k: g + k,
    evaluate=lambda x, grid, g, k: bspline(x, grid, k),
    initial_grid=lambda n, g, k, r: jnp.tile(uniform_knots(g, k, r)[None], (n, 1)),
    interior=lambda grid, k: grid[:, k : grid.shape[1] - k],
    from_interior=extend_knots,
    adaptive=True,
  ),
  'chebyshev': BasisSpec(
    'chebyshev',
    num_basis=lambda g, k: g + 1,
    evaluate=lambda x, grid, g, k: chebyshev(x, g),
    initial_grid=_range_grid,
    interior=_range_interior,
    from_interior=lambda pts, k: pts,
    adaptive=False,
  ),
  'fourier': BasisSpec(
    'fourier',
    num_basis=lambda g, k: 2 * g,
    evaluate=_fourier_eval,
    initial_grid=_range_grid,
    interior=_range_interior,
    from_interior=lambda pts, k: pts,
    adaptive=False,
  ),
  'rbf': BasisSpec(
    'rbf',
    num_basis=lambda g, k: g + 1,
    evaluate=lambda x, grid, g, k: gaussian_rbf(x, grid),
    initial_grid=_centre_grid,
    interior=_range_interior,
    from_interior=lambda pts, k: pts,
    adaptive=True,
  ),
  'mexican_hat': BasisSpec(
    'mexican_hat',
    num_basis=lambda g, k: g + 1,
    evaluate=lambda x, grid, g, k: mexican_hat(x, grid),
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
