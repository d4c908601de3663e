"""Orthogonal weight-update projection: HLOP (Hebbian lateral subspace neurons) and its exact SVD oracle.

For a Dense layer y = W^T x (+ b), the weight gradient is x delta^T; projecting the presynaptic input onto the
orthogonal complement of the old tasks' principal input subspace, x~ = x - H^T H x, turns every update into
(I - H^T H) g, which leaves the layer's response to old-task inputs unchanged (GPM / OWM; HLOP's Eq. for the
projected trace). `project_gradients` is that map as an optax GradientTransformation; the basis H of each layer
arrives as the extra argument `projection_bases` (so the projection can live anywhere in an optax chain).
The bias is the weight of an always-on input: each layer projects the (n_in + 1, n_out) matrix [kernel; bias].

Where H comes from:
  HLOP           k lateral neurons per layer per task learn H by the Oja subspace rule
                 dH = eta * y (x - H^T y)^T with y = H x   (Hebbian y x^T, anti-Hebbian -y y^T H),
                 with momentum; old tasks' rows are frozen, the new rows learn the principal subspace of what
                 the old rows cannot reconstruct. Spiking lateral neurons are not modelled: y is real-valued.
  SVDProjection  the same k new directions per task computed exactly: the top-k right singular vectors of the
                 task's activity residual after removing the old subspace (GPM without the energy threshold).

Deviations from the HLOP code (pkuxmq/HLOP-SNN), stated here because they matter for the numbers:
  * the Hebbian phase runs after each task on that task's presynaptic activity under the final weights (a few
    hundred Oja iterations over minibatches), not interleaved with the task's gradient steps;
  * eta is divided by the batch's mean squared input norm, so one setting works for every layer;
  * subspace neurons are never merged; a layer's total is capped at its input size (with the bias);
  * the update is projected with the orthogonal projector onto the complement of span(H) (an orthonormal basis
    of H's rows, i.e. the steady state y* = (H H^T)^-1 H x of the lateral circuit's recurrent inhibition) rather
    than with x - H^T H x. The two agree when H's rows are orthonormal; when the Oja rule has not fully
    decorrelated a new block from the frozen old blocks, H^T H has eigenvalues above 2, x - H^T H x then
    reverses the gradient along those directions, and our 10-task runs diverged (task 8 of seed 0).
Storage is static: each layer keeps H as (max_neurons, n_in + 1) with a count of rows in use (the rest are 0),
so checkpoints and the jitted step never change shape as tasks arrive.
"""

import dataclasses
from typing import Sequence

import jax
import jax.numpy as jnp
import optax

from common.continual import activity
from common.continual import streams as streams_lib
from common.continual.learners import Learner
from common.train.errors import ConfigurationError


def dense_layers(params) -> dict[str, int]:
  """{layer name: input width} for every sub-dict of `params` holding a 2-D 'kernel' (nn.Dense), in tree order."""
  out = {}

  def visit(node, path):
    if isinstance(node, dict):
      if 'kernel' in node and getattr(node['kernel'], 'ndim', 0) == 2:
        out[activity.layer_name(path)] = int(node['kernel'].shape[0])
      for k in node:
        if isinstance(node[k], dict):
          visit(node[k], path + (k,))

  visit(params, ())
  return out


def _with_layer(tree, name: str, new_layer):
  """A copy of `tree` (nested dicts) with the subtree at `name` replaced."""
  parts = name.split('/')

  def rec(node, i):
    if i == len(parts):
      return new_layer
    return {**node, parts[i]: rec(node[parts[i]], i + 1)}

  return rec(tree, 0)


def project_layer(layer: dict, basis: jax.Array) -> dict:
  """(I - B^T B) applied to the input axis of [kernel; bias]. basis: (K, n_in + 1) or (K, n_in) without bias."""
  kernel = layer['kernel']
  has_bias = 'bias' in layer and basis.shape[1] == kernel.shape[0] + 1
  w = jnp.concatenate([kernel, layer['bias'][None]], axis=0) if has_bias else kernel
  basis = basis[:, : w.shape[0]]
  w = w - basis.T @ (basis @ w)
  out = {**layer, 'kernel': w[: kernel.shape[0]]}
  if has_bias:
    out['bias'] = w[-1]
  return out


def project_gradients() -> optax.GradientTransformationExtraArgs:
  """Projects each listed layer's update onto the orthogonal complement of its basis rows.

  Extra arg: projection_bases = {layer name: (K, n_in + 1)}; layers not listed pass unchanged, and without the
  argument the transform is the identity.
  """

  def init(params):
    del params
    return optax.EmptyState()

  def update(updates, state, params=None, *, projection_bases=None, **extra):
    del params, extra
    for name, basis in (projection_bases or {}).items():
      updates = _with_layer(updates, name, project_layer(activity.get_layer(updates, name), basis))
    return updates, state

  return optax.GradientTransformationExtraArgs(init, update)


def orthonormal_rows(weights: jax.Array, rel_tol: float = 1e-3) -> jax.Array:
  """An orthonormal basis (same shape, unused rows 0) of the row space of `weights` (K, n), K <= n."""
  _, sv, vt = jnp.linalg.svd(weights, full_matrices=False)
  keep = sv > rel_tol * jnp.maximum(sv[0], 1e-12)
  return vt * keep[:, None]


def _per_layer(owner: str, name: str, value, layers: dict[str, int]) -> dict[str, int]:
  values = [value] * len(layers) if isinstance(value, int) else list(value)
  if len(values) != len(layers):
    raise ConfigurationError(
      f'{owner}.{name}={value} gives {len(values)} sizes but the model has {len(layers)} Dense layers '
      f'{list(layers)}; give one int or one per layer.'
    )
  out = {}
  for (layer, width), k in zip(layers.items(), values):
    if k < 0 or k > width + 1:
      raise ConfigurationError(
        f'{owner}.{name}={value}: {k} subspace neurons for layer {layer!r} with {width} inputs (+1 bias) is '
        f'{"negative" if k < 0 else "larger than the layer"}; use at most {width + 1}.'
      )
    out[layer] = int(k)
  return out


@dataclasses.dataclass
class SubspaceProjection(Learner):
  """Shared bookkeeping of HLOP and the SVD oracle (see the module docstring).

  Attributes:
    subspace_size: new subspace neurons per task per Dense layer (one int, or one per layer in tree order).
    first_task_size: neurons for task 0 (default subspace_size); HLOP's PMNIST config starts larger.
    activity_examples: training examples of the finished task whose presynaptic activity is used.
  """

  subspace_size: int | Sequence[int] = 16
  first_task_size: int | Sequence[int] | None = None
  activity_examples: int = 512

  needs_boundaries = True

  def init(self, params, stream, key):
    layers = dense_layers(params)
    owner = type(self).__name__
    if not layers:
      raise ConfigurationError(f'{owner} projects nn.Dense kernels, but the model has none.')
    k = _per_layer(owner, 'subspace_size', self.subspace_size, layers)
    k0 = k if self.first_task_size is None else _per_layer(owner, 'first_task_size', self.first_task_size, layers)
    self._sizes = (k0, k)
    state = {}
    for layer, width in layers.items():
      cap = min(width + 1, k0[layer] + (stream.num_tasks - 1) * k[layer])
      shape = (max(cap, 1), width + 1)
      state[layer] = {'weights': jnp.zeros(shape), 'basis': jnp.zeros(shape), 'count': jnp.zeros((), jnp.int32)}
    return state

  def gradient_transformation(self):
    return project_gradients()

  def transform_args(self, state) -> dict:
    return {'projection_bases': {layer: s['basis'] for layer, s in state.items()}}

  def _activity(self, model, params, model_state, arrays, task, key):
    n = min(self.activity_examples, arrays['inputs'].shape[1])
    batch = streams_lib.sample_task_batch(arrays, key, 0, task, n)
    return activity.dense_inputs(model, {'params': params, **model_state}, batch['inputs'])

  def end_task(self, state, *, model, params, model_state, arrays, task, key):
    k0, k = self._sizes
    acts = self._activity(model, params, model_state, arrays, task, jax.random.fold_in(key, 0))
    new_state = {}
    for i, (layer, s) in enumerate(state.items()):
      cap = s['basis'].shape[0]
      grow = jnp.where(task == 0, k0[layer], k[layer])
      new_count = jnp.minimum(s['count'] + grow, cap)
      rows = jnp.arange(cap)
      new_rows = (rows >= s['count']) & (rows < new_count)
      weights = self._grow(s['weights'], new_rows, acts[layer], jax.random.fold_in(key, i + 1))
      weights = jnp.where(new_rows[:, None], weights, s['weights'])
      new_state[layer] = {'weights': weights, 'basis': orthonormal_rows(weights), 'count': new_count}
    return new_state

  def _grow(self, basis, new_rows, x, key):
    raise NotImplementedError


@dataclasses.dataclass
class HLOP(SubspaceProjection):
  """Hebbian learning based orthogonal projection (Xiao et al., ICLR 2024).

  Attributes (beyond SubspaceProjection's):
    hebbian_lr: Oja step size (divided by the mean squared input norm of the minibatch).
    hebbian_steps: Oja iterations after each task (times hebbian_multiplier: binding hebbian_steps to the
      steps-per-task macro lets a debug config that shrinks training shrink this phase too).
    hebbian_multiplier: see hebbian_steps.
    hebbian_batch: activity rows per iteration.
    momentum: momentum of the lateral-weight update (the HLOP code uses 0.9).
  """

  hebbian_lr: float = 0.5
  hebbian_steps: int = 300
  hebbian_multiplier: int = 1
  hebbian_batch: int = 128
  momentum: float = 0.9

  name = 'hlop'

  def __post_init__(self):
    if not self.hebbian_lr > 0 or self.hebbian_steps < 1 or self.hebbian_batch < 1 or self.hebbian_multiplier < 1:
      raise ConfigurationError(
        f'HLOP.hebbian_lr={self.hebbian_lr}, hebbian_steps={self.hebbian_steps}, '
        f'hebbian_batch={self.hebbian_batch} must all be positive.'
      )
    if not 0.0 <= self.momentum < 1.0:
      raise ConfigurationError(f'HLOP.momentum={self.momentum} must lie in [0, 1).')

  def _grow(self, basis, new_rows, x, key):
    init_key, order_key = jax.random.split(key)
    # New neurons start as random orthonormal rows (the HLOP code's orthogonal init).
    q, _ = jnp.linalg.qr(jax.random.normal(init_key, basis.shape[::-1]))
    h = jnp.where(new_rows[:, None], q.T[: basis.shape[0]], basis)
    b = min(self.hebbian_batch, x.shape[0])
    mask = new_rows[:, None].astype(x.dtype)

    def oja(carry, i):
      h, velocity = carry
      idx = jax.random.choice(jax.random.fold_in(order_key, i), x.shape[0], (b,), replace=False)
      xb = x[idx]
      y = xb @ h.T  # (b, K)
      residual = xb - y @ h  # x - H^T y
      delta = jnp.clip(y.T @ residual / b, -10.0, 10.0) * mask
      velocity = self.momentum * velocity + (1.0 - self.momentum) * delta
      lr = self.hebbian_lr / jnp.maximum(jnp.mean(jnp.sum(xb**2, axis=1)), 1e-6)
      return (h + lr * velocity, velocity), None

    steps = self.hebbian_steps * self.hebbian_multiplier
    (h, _), _ = jax.lax.scan(oja, (h, jnp.zeros_like(h)), jnp.arange(steps))
    return h


@dataclasses.dataclass
class SVDProjection(SubspaceProjection):
  """The exact oracle HLOP approximates: new basis rows are the top right singular vectors of the residual
  activity X - X B^T B of the finished task (B: the old rows, orthonormal)."""

  name = 'svd'

  def _grow(self, basis, new_rows, x, key):
    residual = x - (x @ basis.T) @ basis
    _, _, vt = jnp.linalg.svd(residual, full_matrices=False)  # (min(rows, n), n), descending singular values
    start = jnp.argmax(new_rows)  # first new row (count before growth)
    # Row r of the basis takes singular vector r - start.
    take = jnp.clip(jnp.arange(basis.shape[0]) - start, 0, vt.shape[0] - 1)
    return jnp.where(new_rows[:, None], vt[take], basis)
