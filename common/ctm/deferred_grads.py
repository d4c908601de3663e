"""The tick scan with the dense layers' weight gradients taken after the scan, over all ticks at once.

Differentiating lax.scan computes every tick's weight gradient inside the backward loop: per tick, per layer, a small
matmul contracting over the batch (B = 64 in the parity-16 benchmark), a bias reduction and an accumulation into the
carry, each a separate kernel launch. Here the loop computes only what the recurrence needs (the gradients of the
carry and of the layers' inputs); it hands out each deferred layer's input X_t (forward) and output cotangent G_t
(backward) for every tick, and the weight gradients become one contraction over T x B after the loop:

  ColumnDense y = W^T x + b                     dW = sum_t X_t G_t^T,  db = sum_{t,b} G_t
  SuperLinear ('dib') y = (x . w + b) / T_temp   g = G / T_temp,  dw[d] = sum_{t,b} x[d] g[d]^T,  db = sum_{t,b} g,
                                                 dT_temp = -(sum(w dw) + sum(b db)) / T_temp  (as nlm._dib_linear)

The sums are the same; their order differs (float32 rounding only). How G_t leaves the loop: every deferred layer's
output passes through `_tap(y, tap_t)`, the identity in the forward pass whose gradient copies y's cotangent to
tap_t, an input scanned over ticks; the scan's transpose stacks those cotangents, (T, out, B) per layer.

Layers deferred: ColumnDense without a compute dtype and SuperLinear in the 'dib' layout with private weights and no
input LayerNorm, inside the tick. Everything else (LayerNorms, the synchronisation decays, attention keys/values,
start states) keeps its gradient inside the loop. `deferrable` says when the CTM uses this path.
"""

from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax.core import unfreeze

from common.ctm.columns import ColumnDense
from common.ctm.nlm import SuperLinear


def _is_deferred(module: nn.Module) -> bool:
  if isinstance(module, ColumnDense):
    return module.compute_dtype is None
  if isinstance(module, SuperLinear):
    return module.layout == 'dib' and not module.shared and not module.do_norm
  return False


@jax.custom_vjp
def _tap(y: jax.Array, tap: jax.Array) -> jax.Array:
  """y unchanged; the gradient of y is also the gradient of `tap` (whose value is never read)."""
  del tap
  return y


def _tap_fwd(y, tap):
  del tap
  return y, None


def _tap_bwd(_, g):
  return g, g


_tap.defvjp(_tap_fwd, _tap_bwd)


def _get(tree: dict, path: tuple[str, ...]) -> dict:
  for name in path:
    tree = tree[name]
  return tree


def _split(params: dict, paths) -> tuple[dict, dict]:
  """params -> (params without the deferred layers' subtrees, {path: subtree})."""
  deferred = {p: _get(params, p) for p in paths}

  def strip(tree, prefix):
    out = {}
    for k, v in tree.items():
      here = prefix + (k,)
      if here in deferred:
        continue
      out[k] = strip(v, here) if isinstance(v, dict) else v
    return out

  return strip(params, ()), deferred


def _merge(rest: dict, deferred: dict) -> dict:
  out = jax.tree.map(lambda x: x, rest)  # a copy of the nesting

  def put(tree, path, value):
    for name in path[:-1]:
      tree = tree.setdefault(name, {})
    tree[path[-1]] = value

  for path, sub in deferred.items():
    put(out, path, sub)
  return out


def _deferred_layer_grads(sub: dict, x: jax.Array, g: jax.Array) -> dict:
  """A deferred layer's parameter gradients from its stacked inputs x and output cotangents g (leading axis T)."""
  if 'kernel' in sub:  # ColumnDense: x (T, in, B), g (T, out, B)
    grads = {'kernel': jnp.einsum('tib,tob->io', x, g)}
    if 'bias' in sub:
      grads['bias'] = jnp.sum(g, axis=(0, 2))
    return grads
  temperature = sub['temperature']  # SuperLinear 'dib': x (T, D, I, B), g (T, D, O, B)
  g = g / temperature
  dw = jnp.einsum('tdib,tdob->dio', x, g)
  db = jnp.sum(g, axis=(0, 3))
  dt = -(jnp.sum(sub['w'] * dw) + jnp.sum(sub['b'] * db)) / temperature
  return {'w': dw, 'b': db, 'temperature': dt}


def deferred_scan(
  apply_tick: Callable[[dict, Any, Any], tuple[Any, Any]],
  params: dict,
  carry: Any,
  consts: Any,
  iterations: int,
  remat_policy: Callable | None,
) -> tuple[Any, Any]:
  """lax.scan of `apply_tick(params, carry, consts) -> (carry, ys)` over `iterations` ticks, returning (final carry,
  stacked ys) and differentiable in params, carry and consts, with the deferred layers' weight gradients summed
  after the loop (module docstring). `apply_tick` must call the tick module's apply (the layers are found by
  intercepting their calls); remat_policy as for jax.checkpoint of each tick (None: no rematerialisation)."""

  def scan_fn(params, carry, consts, taps):
    """-> ((final carry, ys), inputs of the deferred layers {path: (T, ...)}); taps None: no tapping."""

    def step(carry, tap_t):
      inputs = {}

      def interceptor(next_fun, args, kwargs, context):
        module = context.module
        if context.method_name != '__call__' or not _is_deferred(module):
          return next_fun(*args, **kwargs)
        y = next_fun(*args, **kwargs)
        inputs[module.path] = args[0]
        return y if tap_t is None else _tap(y, tap_t[module.path])

      with nn.intercept_methods(interceptor):
        carry, ys = apply_tick(params, carry, consts)
      return carry, (ys, inputs)

    if remat_policy is not None:
      step = jax.checkpoint(step, policy=remat_policy)
    carry, (ys, inputs) = jax.lax.scan(step, carry, taps, length=iterations)
    return (carry, ys), inputs

  def layer_shapes(params, carry, consts):
    """{path: (T, out, B...) shape of each deferred layer's output}, traced once without running anything."""
    shapes = {}

    def record(next_fun, args, kwargs, context):
      y = next_fun(*args, **kwargs)
      if context.method_name == '__call__' and _is_deferred(context.module):
        shapes[context.module.path] = jax.ShapeDtypeStruct((iterations, *y.shape), y.dtype)
      return y

    def one_tick(params, carry, consts):
      with nn.intercept_methods(record):
        return apply_tick(params, carry, consts)

    jax.eval_shape(one_tick, params, carry, consts)
    return shapes

  @jax.custom_vjp
  def run(params, carry, consts):
    return scan_fn(params, carry, consts, None)[0]

  def run_fwd(params, carry, consts):
    shapes = layer_shapes(params, carry, consts)
    rest, deferred = _split(params, shapes)
    taps = {p: jnp.zeros(s.shape, s.dtype) for p, s in shapes.items()}

    def with_rest(rest, carry, consts, taps):
      return scan_fn(_merge(rest, deferred), carry, consts, taps)

    out, vjp_fn, inputs = jax.vjp(with_rest, rest, carry, consts, taps, has_aux=True)
    return out, (vjp_fn, inputs, deferred)

  def run_bwd(res, cotangent):
    vjp_fn, inputs, deferred = res
    d_rest, d_carry, d_consts, d_taps = vjp_fn(cotangent)
    d_deferred = {p: _deferred_layer_grads(sub, inputs[p], d_taps[p]) for p, sub in deferred.items()}
    return _merge(d_rest, d_deferred), d_carry, d_consts

  run.defvjp(run_fwd, run_bwd)
  return run(unfreeze(params), carry, consts)  # plain nested dicts, so the deferred subtrees can be split off
