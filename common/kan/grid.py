"""Grid update from samples and grid extension, applied to every KANDense inside any Flax model.

Both run between training phases (outside jit, a host-side step): they collect each KANDense's inputs on a batch
of samples (with nn.intercept_methods, so any model that contains KANDense layers works, and nothing is stored in
the model's state), then refit the coefficients by least squares so each edge's spline part is preserved:

  update_grid:  grid <- grid_eps * uniform + (1 - grid_eps) * percentile grid of the samples (pykan's
                update_grid_from_samples), for adaptive bases (bspline, rbf, mexican_hat); others are left alone.
  extend_grid:  the same layers with a new grid_size (coarse to fine; pykan's refine / initialize_grid_from_parent):
                the new grid spans the old range uniformly and the new coefficients fit the old spline on the
                samples plus a dense sweep of the range.

The least-squares fit is done in float64 numpy (pseudo-inverse per input), which is cheap at these sizes.
"""

from typing import Any

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from common.kan.layers import GRID_COLLECTION, KANDense
from common.train.errors import ConfigurationError

_DENSE_POINTS = 201


# id(model) -> (model, jitted forward, {path: KANDense}): one jitted forward per model. A fresh jax.jit per call
# recompiled at every grid update and extension, per member of a vmapped run (about 1 s each on a 2-core CPU: most
# of a grid-extension run's time). The model is kept in the value so its id cannot be reused while cached.
_FORWARDS: dict[int, tuple] = {}


def _capturing_forward(model: nn.Module):
  hit = _FORWARDS.get(id(model))
  if hit is not None and hit[0] is model:
    return hit[1], hit[2]
  if len(_FORWARDS) >= 64:
    _FORWARDS.clear()
  modules = {}

  def forward(variables, inputs):
    captured = {}

    def interceptor(next_fun, args, kwargs, context):
      if isinstance(context.module, KANDense) and context.method_name == '__call__':
        path = tuple(context.module.path)
        modules[path] = context.module
        captured[path] = args[0].reshape((-1, args[0].shape[-1]))
      return next_fun(*args, **kwargs)

    with nn.intercept_methods(interceptor):
      model.apply(variables, inputs, train=False)
    return captured

  _FORWARDS[id(model)] = (model, jax.jit(forward), modules)
  return _FORWARDS[id(model)][1:]


def collect_layer_inputs(model: nn.Module, variables, inputs) -> dict[tuple[str, ...], tuple[KANDense, np.ndarray]]:
  """{module path: (the KANDense, its inputs (N, in))} from one jitted forward pass on `inputs`."""
  forward, modules = _capturing_forward(model)
  captured = forward(variables, inputs)
  return {path: (modules[path], np.asarray(x)) for path, x in captured.items()}


def _spline_part(layer: KANDense, x, grid, coef) -> np.ndarray:
  """The un-scaled spline sum_m coef[i,m,j] B_m(x_i) per edge: (N, in, out), float64."""
  values = np.asarray(layer.basis_values(jnp.asarray(x, jnp.float32), jnp.asarray(grid)), np.float64)
  return np.einsum('nim,imo->nio', values, np.asarray(coef, np.float64))


def _fit(layer: KANDense, x, grid, targets, rcond=1e-8) -> np.ndarray:
  values = np.asarray(layer.basis_values(jnp.asarray(x, jnp.float32), jnp.asarray(grid)), np.float64)
  a = values.transpose(1, 0, 2)  # (in, N, M)
  return (np.linalg.pinv(a, rcond=rcond) @ targets.transpose(1, 0, 2)).astype(np.float32)  # (in, M, out)


def percentile_grid(x: np.ndarray, grid_size: int, grid_eps: float, margin: float = 0.0) -> np.ndarray:
  """(N, in) samples -> (in, G + 1) points: grid_eps * uniform(min-margin, max+margin) + (1-grid_eps) * quantiles."""
  if not 0.0 <= grid_eps <= 1.0:
    raise ConfigurationError(f'grid_eps={grid_eps} must be in [0, 1] (1 = uniform grid, 0 = pure percentiles).')
  q = np.linspace(0.0, 1.0, grid_size + 1)
  adaptive = np.quantile(x, q, axis=0).T  # (in, G+1)
  lo, hi = x.min(axis=0) - margin, x.max(axis=0) + margin
  uniform = lo[:, None] + (hi - lo)[:, None] * q[None, :]
  return grid_eps * uniform + (1.0 - grid_eps) * adaptive


def _get(tree, path):
  for p in path:
    tree = tree[p]
  return tree


def _set(tree: dict, path, value) -> None:
  for p in path[:-1]:
    tree = tree[p]
  tree[path[-1]] = value


def update_grid(model: nn.Module, variables, inputs, *, grid_eps: float = 0.02, margin: float = 0.0) -> dict[str, Any]:
  """New variables with every adaptive KANDense grid fitted to the layer inputs seen on `inputs` (B, ...)."""
  variables = flax.core.unfreeze(jax.device_get(variables))
  for path, (layer, x) in collect_layer_inputs(model, variables, inputs).items():
    if not layer.spec.adaptive:
      continue
    grid = _get(variables[GRID_COLLECTION], path)['grid']
    params = _get(variables['params'], path)
    targets = _spline_part(layer, x, grid, params['coef'])
    eps = 1.0 if layer.uniform_grid else grid_eps  # a uniform-grid layer only moves its range
    points = percentile_grid(x.astype(np.float64), layer.grid_size, eps, margin)
    if np.any(np.diff(points, axis=1) <= 0):
      raise ConfigurationError(
        f'update_grid: layer {"/".join(path)} got a degenerate grid (constant inputs?); raise grid_eps above '
        f'{grid_eps} or skip the update.'
      )
    new_grid = np.asarray(layer.spec.from_interior(jnp.asarray(points, jnp.float32), layer.order))
    _get(variables[GRID_COLLECTION], path)['grid'] = new_grid
    params['coef'] = _fit(layer, x, new_grid, targets)
  return variables


def extend_grid(model: nn.Module, new_model: nn.Module, variables, inputs) -> dict[str, Any]:
  """Variables for `new_model` (the same model with a finer grid_size) fitted to `model`'s edge functions.

  Every KANDense keeps its grid range; its grid becomes uniform with the new size and its coefficients are the
  least-squares fit of the old spline part on the layer's inputs plus a dense sweep of the range. All other
  parameters and state are copied.
  """
  old = collect_layer_inputs(model, variables, inputs)
  new_shapes = jax.eval_shape(lambda: new_model.init(jax.random.PRNGKey(0), inputs[:1]))
  new_layers = collect_layer_inputs(new_model, _zeros_like(new_shapes), inputs[:1])
  variables = flax.core.unfreeze(jax.device_get(variables))
  for path, (layer, x) in old.items():
    if path not in new_layers:
      raise ConfigurationError(f'extend_grid: layer {"/".join(path)} is missing from the new model.')
    new_layer = new_layers[path][0]
    grid = _get(variables[GRID_COLLECTION], path)['grid']
    interior = np.asarray(layer.spec.interior(jnp.asarray(grid), layer.order))  # (in, G+1)
    lo, hi = interior[:, 0], interior[:, -1]
    sweep = lo + (hi - lo) * np.linspace(0.0, 1.0, _DENSE_POINTS)[:, None]
    xs = np.concatenate([x, sweep.astype(np.float32)], axis=0)
    params = _get(variables['params'], path)
    targets = _spline_part(layer, xs, grid, params['coef'])
    if new_layer.spec.adaptive:
      new_points = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, new_layer.grid_size + 1)[None]
      new_grid = np.asarray(new_layer.spec.from_interior(jnp.asarray(new_points, jnp.float32), new_layer.order))
    else:  # chebyshev / fourier: the grid is only the range; a finer "grid" is a higher degree / more frequencies.
      new_grid = np.asarray(grid)
    _get(variables[GRID_COLLECTION], path)['grid'] = new_grid
    params['coef'] = _fit(new_layer, xs, new_grid, targets)
  return variables


def _zeros_like(shapes):
  # Grids must be valid (increasing) for the probe forward pass; values do not matter otherwise.
  def fill(path, s):
    names = [getattr(p, 'key', None) for p in path]
    if names and names[-1] == 'grid':
      return jnp.broadcast_to(jnp.arange(s.shape[-1], dtype=s.dtype), s.shape)
    return jnp.zeros(s.shape, s.dtype)

  return jax.tree_util.tree_map_with_path(fill, shapes)
