"""KANDense: a Kolmogorov-Arnold layer, and KAN: a stack of them.

    y_j = sum_i [ scale_base[i, j] * b(x_i) + scale_sp[i, j] * sum_m coef[i, m, j] * B_m(x_i) ] + bias_j

Computed as basis-then-contraction: b(x) and the M basis values, each (B, in), are concatenated basis-major into one
(B, (M+1)*in) feature matrix and contracted with the ((M+1)*in, out) weight [scale_base; scale_sp * coef] in a single
GEMM, so the (B, in, out) tensor of edge activations that pykan materialises never exists in the forward pass. (The
basis-major layout keeps every elementwise array (B, in): XLA's CPU backend is slow on a tiny minor axis of size M,
above all in the backward pass.) With uniform_grid=True, B-splines use the closed-form cardinal evaluation
(bases.bspline_uniform_terms) instead of the Cox-de Boor recursion: the fast path; grid updates then keep the grid
uniform (grid_eps = 1, the range follows the data).

Initialisation is pykan's (KANLayer, v0.2): coef is the least-squares fit of uniform noise
(U[0,1) - 1/2) * noise_scale / grid_size sampled at the grid_size + 1 interior grid points; scale_base =
scale_base_mu / sqrt(in) + scale_base_sigma * U(-1, 1) / sqrt(in); scale_sp = scale_sp / sqrt(in). pykan's MultKAN
also has an affine node scale; we keep only the node bias (zeros), as efficient-kan and jaxKAN do.

Inputs outside the grid range (documented behaviour, as in pykan): the base branch b(x) is unaffected, and with
out_of_range='extend' (default) the spline is evaluated on the k extra knots each side and is 0 beyond them; with
out_of_range='clamp' the spline sees x clipped to the grid range, i.e. it is held at its boundary value. Adaptive
grid updates (common.kan.grid) move the range to where the data are.

The grid lives in the variable collection 'kan_grid' (model state, so it is checkpointed and survives resume, and
grid updates replace it between training phases).

Regulariser (KAN paper, eq. 2.17-2.20): with |phi_ij|_1 the batch mean of |phi_ij(x_i)|,
    reg_weight * (l1_weight * sum_ij |phi_ij|_1 + entropy_weight * S),  S = -sum_ij p_ij log p_ij,
    p_ij = |phi_ij|_1 / sum |phi|_1,
sown into 'losses' as 'kan_reg' when reg_weight > 0. It needs the per-edge activations, so only this path forms a
(B', in, out) tensor, over the first `reg_samples` rows of the batch (all rows when None). pykan's default variant
normalises by input/output scale and takes row/column entropies; we follow the paper's plain form.
"""

import functools
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from common.kan import bases as bases_lib
from common.train.errors import ConfigurationError

GRID_COLLECTION = 'kan_grid'
BASE_ACTIVATIONS = {'silu': nn.silu, 'identity': lambda x: x, 'zero': jnp.zeros_like, 'tanh': jnp.tanh}
_OUT_OF_RANGE = ('extend', 'clamp')


def fit_coefficients(basis_values: jax.Array, targets: jax.Array, rcond: float = 1e-6) -> jax.Array:
  """Least-squares coefficients per input: basis (N, in, M), targets (N, in, out) -> coef (in, M, out)."""
  a = jnp.swapaxes(basis_values, 0, 1)  # (in, N, M)
  y = jnp.swapaxes(targets, 0, 1)  # (in, N, out)
  return jnp.linalg.pinv(a, rtol=rcond) @ y


@functools.cache
def _init_fit_matrix(basis: str, grid_size: int, order: int, grid_range: tuple, rcond: float) -> np.ndarray:
  """(M, G+1) float32: the least-squares map from values at the G+1 interior points of the INITIAL grid to coefficients.

  Every input starts from the same grid row, so one small pseudo-inverse (float64 numpy, on the host, cached per
  setting) serves all inputs of all layers, and no SVD is compiled into every jitted `init`.
  """
  spec = bases_lib.get_basis(basis)
  with jax.ensure_compile_time_eval():  # concrete values even when called while tracing an init
    grid = np.asarray(spec.initial_grid(1, grid_size, order, grid_range))  # (1, n_grid)
    points = np.asarray(spec.interior(jnp.asarray(grid), order))  # (1, G+1)
    samples = np.linspace(points[:, 0], points[:, -1], grid_size + 1)  # (G+1, 1)
    evaluate = jax.jit(spec.evaluate, static_argnums=(2, 3))
    values = evaluate(jnp.asarray(samples, jnp.float32), jnp.asarray(grid), grid_size, order)
    a = np.asarray(values, np.float64)[:, 0, :]  # (G+1, M)
  return np.linalg.pinv(a, rcond=rcond).astype(np.float32)


def init_coefficients(basis: str, grid_size: int, order: int, grid_range, noise: jax.Array) -> jax.Array:
  """pykan's coefficient init: the least-squares fit of `noise` (G+1, in, out), sampled at the G+1 interior points
  of the initial grid, -> coef (in, M, out). Equals fit_coefficients on the initial grid (to float32 rounding)."""
  fit = _init_fit_matrix(basis, int(grid_size), int(order), tuple(float(r) for r in grid_range), 1e-6)
  return jnp.einsum('mn,nio->imo', fit, noise)


class KANDense(nn.Module):
  """One KAN layer: (..., in) -> (..., features).

  Attributes:
    features: output width.
    basis: basis name (common.kan.bases.BASES).
    grid_size: grid intervals G (bspline: G + order bases; chebyshev: degree G; fourier: G frequencies; rbf and
      mexican_hat: G + 1 centres).
    order: spline order k (bspline only).
    grid_range: initial grid range.
    noise_scale, scale_base_mu, scale_base_sigma, scale_sp: pykan's initialisation constants.
    uniform_grid: keep the grid uniform and use the closed-form B-spline (fast path; see module docstring).
    base_activation: b(x): 'silu' (paper), 'identity', 'tanh' or 'zero' (no base branch).
    use_bias: add a per-output bias (zeros at init).
    out_of_range: 'extend' or 'clamp' (see module docstring).
    reg_weight, l1_weight, entropy_weight, reg_samples: the paper's regulariser (lambda, mu_1, mu_2).
  """

  features: int
  basis: str = 'bspline'
  grid_size: int = 5
  order: int = 3
  grid_range: Sequence[float] = (-1.0, 1.0)
  noise_scale: float = 0.3
  scale_base_mu: float = 0.0
  scale_base_sigma: float = 1.0
  scale_sp: float = 1.0
  base_activation: str = 'silu'
  use_bias: bool = True
  out_of_range: str = 'extend'
  reg_weight: float = 0.0
  l1_weight: float = 1.0
  entropy_weight: float = 2.0
  reg_samples: int | None = None
  uniform_grid: bool = False

  def __post_init__(self):
    owner = type(self).__name__
    bases_lib.check_grid(self.basis, self.grid_size, self.order, self.grid_range, owner=owner)
    if self.base_activation not in BASE_ACTIVATIONS:
      raise ConfigurationError(
        f'{owner}.base_activation={self.base_activation!r} is unknown; choose one of {sorted(BASE_ACTIVATIONS)}.'
      )
    if self.out_of_range not in _OUT_OF_RANGE:
      raise ConfigurationError(f'{owner}.out_of_range={self.out_of_range!r} must be one of {_OUT_OF_RANGE}.')
    if self.features < 1:
      raise ConfigurationError(f'{owner}.features={self.features} must be at least 1.')
    super().__post_init__()

  @property
  def spec(self) -> bases_lib.BasisSpec:
    return bases_lib.get_basis(self.basis)

  @property
  def num_basis(self) -> int:
    return self.spec.num_basis(self.grid_size, self.order)

  def basis_terms(self, x: jax.Array, grid: jax.Array) -> list[jax.Array]:
    """(..., in) -> num_basis arrays (..., in)."""
    if self.out_of_range == 'clamp':
      interior = self.spec.interior(grid, self.order)
      x = jnp.clip(x, interior[:, 0], interior[:, -1])
    if self.uniform_grid and self.basis == 'bspline':
      return bases_lib.bspline_uniform_terms(x, grid[:, 0], grid[:, 1] - grid[:, 0], self.num_basis, self.order)
    return self.spec.terms(x, grid, self.grid_size, self.order)

  def basis_values(self, x: jax.Array, grid: jax.Array) -> jax.Array:
    """(..., in) -> (..., in, num_basis)."""
    return jnp.stack(self.basis_terms(x, grid), axis=-1)

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    in_dim, spec = x.shape[-1], self.spec
    grid = self.variable(
      GRID_COLLECTION, 'grid', lambda: spec.initial_grid(in_dim, self.grid_size, self.order, tuple(self.grid_range))
    ).value

    def init_coef(key, shape):
      # pykan fits the noise at the G+1 interior points of the (initial) grid.
      noise = (jax.random.uniform(key, (self.grid_size + 1, in_dim, self.features)) - 0.5) * self.noise_scale
      noise = noise / self.grid_size
      return init_coefficients(self.basis, self.grid_size, self.order, self.grid_range, noise).reshape(shape)

    def init_scale_base(key, shape):
      u = jax.random.uniform(key, shape, minval=-1.0, maxval=1.0)
      return (self.scale_base_mu + self.scale_base_sigma * u) / jnp.sqrt(in_dim)

    m = self.num_basis
    coef = self.param('coef', init_coef, (in_dim, m, self.features))
    scale_base = self.param('scale_base', init_scale_base, (in_dim, self.features))
    scale_sp = self.param('scale_sp', nn.initializers.constant(self.scale_sp / in_dim**0.5), (in_dim, self.features))

    lead = x.shape[:-1]
    x2 = x.reshape((-1, in_dim))
    terms = [BASE_ACTIVATIONS[self.base_activation](x2)] + self.basis_terms(x2, grid)  # M+1 arrays (N, in)
    feats = jnp.concatenate(terms, axis=-1)  # (N, (M+1)*in), basis-major
    # (M+1, in, out): tiny next to the batch, formed once per call.
    weight = jnp.concatenate([scale_base[None], jnp.swapaxes(coef * scale_sp[:, None, :], 0, 1)], axis=0)
    y = (feats @ weight.reshape(((m + 1) * in_dim, self.features))).reshape(lead + (self.features,))
    if self.use_bias:
      y = y + self.param('bias', nn.initializers.zeros_init(), (self.features,))

    if self.reg_weight > 0 and not self.is_initializing():
      rows = self.reg_samples
      f2 = feats.reshape((-1, m + 1, in_dim))
      f2 = f2 if rows is None else f2[:rows]
      edge_l1 = jnp.mean(jnp.abs(jnp.einsum('bmi,mio->bio', f2, weight)), axis=0)  # (in, out)
      self.sow('losses', 'kan_reg', self.reg_weight * regularization(edge_l1, self.l1_weight, self.entropy_weight))
    return y


def regularization(edge_l1: jax.Array, l1_weight: float, entropy_weight: float) -> jax.Array:
  """The KAN paper's layer penalty from mean edge magnitudes (in, out): mu1 * |Phi|_1 + mu2 * S(Phi)."""
  total = jnp.sum(edge_l1)
  p = edge_l1 / (total + 1e-12)
  entropy = -jnp.sum(p * jnp.log(p + 1e-12))
  return l1_weight * total + entropy_weight * entropy


def _per_layer(value, num_layers: int, name: str):
  if isinstance(value, (list, tuple)):
    if len(value) != num_layers:
      raise ConfigurationError(f'KAN.{name} has {len(value)} entries for {num_layers} layers; give one per layer.')
    return tuple(value)
  return (value,) * num_layers


class KAN(nn.Module):
  """A stack of KANDense layers on the flattened input.

  Attributes:
    widths: hidden and output widths (the input width is taken from the data), e.g. (5, 1) for the paper's [2,5,1].
    basis: one basis name for every layer, or one per layer.
    grid_size: grid intervals, shared by all layers (grid extension changes it for all layers at once).
    order, grid_range, base_activation, reg_weight, out_of_range, noise_scale, uniform_grid: KANDense attributes
      shared by all layers.

  Shapes: inputs (B, ...) -> outputs (B, widths[-1]).
  """

  widths: Sequence[int] = (5, 1)
  basis: str | Sequence[str] = 'bspline'
  grid_size: int = 5
  order: int = 3
  grid_range: Sequence[float] = (-1.0, 1.0)
  base_activation: str = 'silu'
  reg_weight: float = 0.0
  out_of_range: str = 'extend'
  noise_scale: float = 0.3
  uniform_grid: bool = False

  def __post_init__(self):
    if not self.widths or any(w < 1 for w in self.widths):
      raise ConfigurationError(f'KAN.widths={tuple(self.widths)} must be a non-empty list of positive widths.')
    for b in _per_layer(self.basis, len(self.widths), 'basis'):
      bases_lib.check_grid(b, self.grid_size, self.order, self.grid_range, owner='KAN')
    super().__post_init__()

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    del train
    x = x.reshape((x.shape[0], -1))
    for i, (width, basis) in enumerate(zip(self.widths, _per_layer(self.basis, len(self.widths), 'basis'))):
      x = KANDense(
        width,
        basis=basis,
        grid_size=self.grid_size,
        order=self.order,
        grid_range=self.grid_range,
        base_activation=self.base_activation,
        reg_weight=self.reg_weight,
        out_of_range=self.out_of_range,
        noise_scale=self.noise_scale,
        uniform_grid=self.uniform_grid,
        name=f'kan_{i}',
      )(x)
    return x
