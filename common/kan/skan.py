"""S-KAN (Activation Space Selectable KAN, Yang et al. 2024): every edge a learned mixture over a pool of bases.

    phi_ij(x) = scale_base[i,j] b(x) + scale_sp[i,j] * sum_k a_ijk * sum_m coef^k[i,m,j] B^k_m(x),
    a_ij = softmax over the active spaces of logits[i, j, :]  (inactive spaces get weight 0)

Computed like KANDense: the mixture weights fold into the coefficients, so the terms of every basis in the pool are
concatenated into one (B, (1 + sum_k M_k) * in) feature matrix and contracted in a single GEMM; no (B, in, out)
tensor and no per-basis output.

Three-phase schedule (`train_skan`, on common.kan.phases.run_phases): (1) full training of every space and the
selection logits; (2) selective training: keep the `keep_top` spaces with the largest mixture weight per edge (or per
node, averaged over its incoming edges) and train on; (3) pruning to the single best space, trained on. Selection
is a 0/1 mask in the 'skan_mask' collection (model state, checkpointed); masked spaces keep their coefficients in
memory but get no weight and no gradient, so "pruning" is a mask, not a shape change.

Deviations (the paper's exact weighting and pruning equations were not available to us, see
shared/research/module_anchors.md (a)): softmax mixture weights per edge; selection by the largest weights.
"""

from typing import Any, Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from common.kan import bases as bases_lib
from common.kan.layers import BASE_ACTIVATIONS, GRID_COLLECTION, init_coefficients
from common.kan.phases import Phase, run_phases
from common.train.errors import ConfigurationError

MASK_COLLECTION = 'skan_mask'
DEFAULT_POOL = ('bspline', 'chebyshev', 'fourier', 'rbf', 'mexican_hat')


class SKANDense(nn.Module):
  """A selectable-basis KAN layer: (..., in) -> (..., features).

  Attributes:
    features: output width.
    pool: basis names (common.kan.bases.BASES), at least one.
    grid_size, order, grid_range, noise_scale, base_activation, use_bias: as KANDense (shared by the pool).
  """

  features: int
  pool: Sequence[str] = DEFAULT_POOL
  grid_size: int = 5
  order: int = 3
  grid_range: Sequence[float] = (-1.0, 1.0)
  noise_scale: float = 0.3
  base_activation: str = 'silu'
  use_bias: bool = True

  def __post_init__(self):
    if not self.pool:
      raise ConfigurationError('SKANDense.pool=() has no bases; give at least one name from common.kan.bases.BASES.')
    if len(set(self.pool)) != len(self.pool):
      raise ConfigurationError(f'SKANDense.pool={tuple(self.pool)} names a basis twice.')
    for name in self.pool:
      bases_lib.check_grid(name, self.grid_size, self.order, self.grid_range, owner='SKANDense')
      bases_lib.get_basis(name, param='SKANDense.pool')
    super().__post_init__()

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    in_dim, k = x.shape[-1], len(self.pool)
    lead = x.shape[:-1]
    x2 = x.reshape((-1, in_dim))
    terms, weights = [BASE_ACTIVATIONS[self.base_activation](x2)], []
    logits = self.param('logits', nn.initializers.zeros_init(), (in_dim, self.features, k))
    mask = self.variable(MASK_COLLECTION, 'mask', lambda: jnp.ones((in_dim, self.features, k), jnp.float32)).value
    mix = jax.nn.softmax(jnp.where(mask > 0, logits, -1e30), axis=-1) * mask  # (in, out, K)
    scale_base = self.param(
      'scale_base',
      lambda key, s: jax.random.uniform(key, s, minval=-1.0, maxval=1.0) / jnp.sqrt(in_dim),
      (in_dim, self.features),
    )
    scale_sp = self.param('scale_sp', nn.initializers.constant(1.0 / in_dim**0.5), (in_dim, self.features))
    for b, name in enumerate(self.pool):
      spec = bases_lib.get_basis(name)
      m = spec.num_basis(self.grid_size, self.order)
      grid = self.variable(
        GRID_COLLECTION,
        f'grid_{name}',
        lambda s=spec: s.initial_grid(in_dim, self.grid_size, self.order, tuple(self.grid_range)),
      ).value

      def init_coef(key, shape, name=name):
        noise = (jax.random.uniform(key, (self.grid_size + 1, in_dim, self.features)) - 0.5) * self.noise_scale
        return init_coefficients(name, self.grid_size, self.order, self.grid_range, noise / self.grid_size)

      coef = self.param(f'coef_{name}', init_coef, (in_dim, m, self.features))
      terms += spec.terms(x2, grid, self.grid_size, self.order)
      weights.append(jnp.swapaxes(coef * (scale_sp * mix[..., b])[:, None, :], 0, 1))  # (M_k, in, out)
    weight = jnp.concatenate([scale_base[None]] + weights, axis=0)
    feats = jnp.concatenate(terms, axis=-1)
    y = feats @ weight.reshape((-1, self.features))
    if self.use_bias:
      y = y + self.param('bias', nn.initializers.zeros_init(), (self.features,))
    return y.reshape(lead + (self.features,))


class SKAN(nn.Module):
  """A stack of SKANDense layers on the flattened input: (B, ...) -> (B, widths[-1])."""

  widths: Sequence[int] = (5, 1)
  pool: Sequence[str] = DEFAULT_POOL
  grid_size: int = 5
  order: int = 3
  grid_range: Sequence[float] = (-1.0, 1.0)
  base_activation: str = 'silu'

  def __post_init__(self):
    if not self.pool:
      raise ConfigurationError('SKAN.pool=() has no bases; give at least one name from common.kan.bases.BASES.')
    for name in self.pool:
      bases_lib.check_grid(name, self.grid_size, self.order, self.grid_range, owner='SKAN')
    super().__post_init__()

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    del train
    x = x.reshape((x.shape[0], -1))
    for i, width in enumerate(self.widths):
      x = SKANDense(
        width,
        pool=tuple(self.pool),
        grid_size=self.grid_size,
        order=self.order,
        grid_range=self.grid_range,
        base_activation=self.base_activation,
        name=f'skan_{i}',
      )(x)
    return x


def select_mask(logits: jax.Array, mask: jax.Array, keep: int, granularity: str = 'edge') -> jax.Array:
  """The new 0/1 mask (in, out, K) keeping the `keep` active spaces with the largest mixture weight.

  granularity 'edge' ranks per edge; 'node' ranks per output node by the weight averaged over its incoming edges
  (every edge into the node then keeps the same spaces). Jittable.
  """
  weights = jax.nn.softmax(jnp.where(mask > 0, logits, -1e30), axis=-1) * mask
  if granularity == 'node':
    weights = jnp.broadcast_to(jnp.mean(weights, axis=0, keepdims=True), weights.shape)
  rank = jnp.argsort(jnp.argsort(-weights, axis=-1), axis=-1)  # 0 = largest
  return ((rank < keep) & (mask > 0)).astype(mask.dtype)


def apply_selection(variables: dict, keep: int, granularity: str = 'edge') -> dict:
  """Variables with every SKANDense mask narrowed to its top `keep` spaces (a pure, jittable tree map)."""

  def walk(params, masks):
    if 'mask' in masks and not isinstance(masks['mask'], dict):
      return {**masks, 'mask': select_mask(params['logits'], masks['mask'], keep, granularity)}
    return {k: walk(params[k], v) for k, v in masks.items()}

  return {**variables, MASK_COLLECTION: walk(variables['params'], variables[MASK_COLLECTION])}


def _check_schedule(phase_fractions, keep_top, granularity, num_pool):
  if len(phase_fractions) != 3 or any(f <= 0 for f in phase_fractions):
    raise ConfigurationError(
      f'train_skan.phase_fractions={tuple(phase_fractions)} must be three positive fractions (full, select, prune).'
    )
  if not 1 <= keep_top <= num_pool:
    raise ConfigurationError(f'train_skan.keep_top={keep_top} must be between 1 and the pool size {num_pool}.')
  if granularity not in ('edge', 'node'):
    raise ConfigurationError(f"train_skan.granularity={granularity!r} must be 'edge' or 'node'.")


def phase_steps(num_steps: int, phase_fractions: Sequence[float]) -> list[int]:
  """Splits num_steps over the phases in proportion to phase_fractions (largest remainders, ties to the later
  phase; every phase at least 1 step). E.g. 1000 -> [500, 250, 250], 10 -> [5, 2, 3], 3 -> [1, 1, 1] (equal
  lengths let run_phases reuse one compiled step)."""
  total = sum(phase_fractions)
  exact = [num_steps * f / total for f in phase_fractions]
  steps = [int(e) for e in exact]
  by_remainder = sorted(range(len(exact)), key=lambda i: (exact[i] - steps[i], i), reverse=True)
  for i in by_remainder[: num_steps - sum(steps)]:
    steps[i] += 1
  return [max(1, s) for s in steps]


def train_skan(
  *,
  model,
  task,
  optimizer: Callable[[int], optax.GradientTransformation],
  num_steps: int,
  seed: int,
  workdir: str,
  dry_run: bool = False,
  phase_fractions: Sequence[float] = (0.5, 0.25, 0.25),
  keep_top: int = 2,
  granularity: str = 'edge',
  log_every: int = 100,
  eval_every: int = 500,
  checkpoint_every: int = 500,
) -> dict[str, Any]:
  """The S-KAN three-phase schedule over `num_steps` total steps; final metrics carry '<metric>_<phase>'.

  Phases: 'full' (all spaces), 'select' (top keep_top per edge/node), 'prune' (top 1). Each phase starts a fresh
  optimizer (run_phases); parameters and grids carry over and only the masks change.
  """
  pool = getattr(model, 'pool', None)
  if pool is None:
    raise ConfigurationError(
      f'train_skan.model={type(model).__name__} has no basis pool; use SKAN or a model with pool.'
    )
  _check_schedule(phase_fractions, keep_top, granularity, len(pool))
  steps = phase_steps(num_steps, phase_fractions)

  def narrow(keep):
    return lambda prev_model, variables, model, samples: apply_selection(variables, keep, granularity)

  phases = [
    Phase(model, steps[0], tag='full'),
    Phase(model, steps[1], enter=narrow(keep_top), tag='select'),
    Phase(model, steps[2], enter=narrow(1), tag='prune'),
  ]
  return run_phases(
    phases,
    task=task,
    optimizer=optimizer,
    seed=seed,
    workdir=workdir,
    dry_run=dry_run,
    log_every=log_every,
    eval_every=eval_every,
    checkpoint_every=checkpoint_every,
  )
