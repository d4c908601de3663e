"""The CTM's tick scan with a hand-written backward pass that keeps one history column per tick, not the history.

Differentiating lax.scan over rematerialised ticks saves each tick's input carry, so the (D, M, B) pre-activation
history is stacked T times ((T, D, M, B), zero-filled and written every step) although each tick adds one new column
a_t (D, B) to it. Here the forward pass keeps tape = [start history, a_1, ..., a_T] (D, M + T, B) and the carry's
small parts (z, the synchronisation accumulators), and the backward pass rebuilds tick t's input history as the
window tape[:, t:t+M]. The forward loop itself (TAPE) carries the tape, writes a_t into it in place and reads tick
t's history as that window, instead of carrying the shifted (D, M, B) history, which XLA copied every tick
(`ab_ctm_switch --switch=common.ctm.history_scan.TAPE`: 0.98x the parity-16 train step's time on the CPU).

The backward pass is otherwise what differentiating the rematerialised scan computes: per tick, in reverse, the
tick's VJP at its saved inputs, with the dense layers' matmul outputs saved in the forward pass and handed back
(ColumnDense's SAVED collection) rather than recomputed.

The gradients are the same computation (tests/ctm/test_reference_forward.py compares both paths). What it saves,
measured by `python -m benchmarks.ab_ctm_switch --switch=common.ctm.ctm.HISTORY_SCAN [--memory]`
(projects/ctm_parity/README.md): the train step's compiled temporary memory at paper_parity64.gin's model 721 -> 277
MiB, and 5-8% of the step's time on an H200 (no measurable change on the 2-core CPU).

The NLMs' temperatures (`scaled_linears`) get their gradient once after the backward loop instead of per tick
(CTM.DEFER_TEMPERATURE; `ab_ctm_switch --switch=common.ctm.ctm.DEFER_TEMPERATURE`: 0.97x the parity-16 train step's
time on the CPU).

Used by CTM.__call__ when the ticks are rematerialised in float32 and no dropout runs inside them (CTM.HISTORY_SCAN
switches it off).
"""

from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp

from common.ctm.columns import SAVED

# tick_apply(variables, carry, consts, mutable) -> the tick module's apply with those variables ({'params': ...} and
# the ColumnDense collections), returning ((carry, (readout, attention)), mutated collections).
TickApply = Callable[[dict, Any, Any, list], Any]
Path = tuple[str, ...]

TAPE = True  # the forward loop carries the tape (see above); False: the shifted history. Tests compare both


def history_scan(
  tick_apply: TickApply, params, consts, indices, carry, iterations: int, scaled_linears: Sequence[Path] = ()
) -> jax.Array:
  """Readouts (T, P, B) of `iterations` ticks from carry = (history (D, M, B), *rest); differentiable in params,
  consts (float arrays) and carry; indices (integer arrays) are not differentiated.

  scaled_linears: paths in params of layers {'w', 'b', 'temperature'} computing (x . w + b) / temperature (the NLMs'
  SuperLinears). Since u = x . w + b is linear in w and b, dL/dT = -(sum(w * dL/dw) + sum(b * dL/db)) / T, and w, b
  and T are the same at every tick, so the backward loop leaves T out and its gradient is taken once after the loop
  from the summed w and b gradients: per tick that spares two products and their reductions per layer.
  """

  def run_ticks(params, consts, carry, capture: bool):
    """(readouts, tape (D, M + T, B), rests, saved matmuls) of the ticks from carry."""
    history0 = carry[0]
    memory = history0.shape[1]
    if TAPE:
      tape0 = jnp.pad(history0, ((0, 0), (0, iterations), (0, 0)))

      def body(c, t):
        tape, rest = c
        history = jax.lax.dynamic_slice_in_dim(tape, t, memory, axis=1)
        out, state = tick_apply({'params': params}, (history, *rest), {**consts, **indices}, [SAVED] if capture else [])
        new, (readout, _) = out
        # Only the new column goes back into the carry: the tick's shifted history stays a temporary, which XLA no
        # longer copies into the loop's carry buffer every tick.
        tape = jax.lax.dynamic_update_slice_in_dim(tape, new[0][:, -1:], memory + t, axis=1)
        return (tape, new[1:]), (readout, rest, state.get(SAVED, {}) if capture else None)

      (tape, _), (readouts, rests, saved) = jax.lax.scan(body, (tape0, tuple(carry[1:])), jnp.arange(iterations))
      return readouts, tape, rests, saved

    def body(c, t):
      out, state = tick_apply({'params': params}, c, {**consts, **indices}, [SAVED] if capture else [])
      new, (readout, _) = out
      saved = state.get(SAVED, {}) if capture else None
      return new, (readout, new[0][:, -1], c[1:], saved)

    readouts, columns, rests, saved = jax.lax.scan(body, carry, jnp.arange(iterations))[1]
    tape = jnp.concatenate([history0, jnp.moveaxis(columns, 0, 1)], axis=1)
    return readouts, tape, rests, saved

  @jax.custom_vjp
  def run(params, consts, carry):
    return run_ticks(params, consts, carry, False)[0]

  def run_fwd(params, consts, carry):
    readouts, tape, rests, matmuls = run_ticks(params, consts, carry, True)
    # Saved: the histories' tape, the ticks' input carries without the history, their dense layers' outputs.
    return readouts, (params, consts, tape, rests, matmuls)

  def run_bwd(res, readout_cot):
    params, consts, tape, rests, matmuls = res
    memory = tape.shape[1] - iterations
    history0 = tape[:, :memory]

    def body(acc, t):
      history_cot, rest_cot, params_cot, consts_cot = acc
      history = jax.lax.dynamic_slice_in_dim(tape, t, memory, axis=1)
      rest = jax.tree.map(lambda x: x[t], rests)
      saved = jax.tree.map(lambda x: x[t], matmuls)

      def tick(p, cs, h, r):
        p = _without_temperature_grads(p, scaled_linears)
        (new, (readout, _)), _ = tick_apply({'params': p, SAVED: saved}, (h, *r), {**cs, **indices}, [])
        return new, readout

      _, vjp = jax.vjp(tick, params, consts, history, rest)
      d_params, d_consts, d_history, d_rest = vjp(((history_cot, *rest_cot), readout_cot[t]))
      add = lambda a, b: jax.tree.map(jnp.add, a, b)  # noqa: E731
      return (d_history, d_rest, add(params_cot, d_params), add(consts_cot, d_consts)), None

    init = (
      jnp.zeros_like(history0),
      _zeros_like_tree(tuple(jax.tree.map(lambda x: x[0], rests))),
      _zeros_like_tree(params),
      _zeros_like_tree(consts),
    )
    (history_cot, rest_cot, params_cot, consts_cot), _ = jax.lax.scan(body, init, jnp.arange(iterations), reverse=True)
    return _with_temperature_grads(params, params_cot, scaled_linears), consts_cot, (history_cot, *rest_cot)

  run.defvjp(run_fwd, run_bwd)
  return run(params, consts, carry)


def _names(key_path) -> Path:
  return tuple(str(getattr(k, 'key', getattr(k, 'name', k))) for k in key_path)


def _map_temperatures(fn, tree, paths: Sequence[Path]):
  """tree with fn(layer path, leaf) applied to the 'temperature' leaf of every layer in paths (containers kept)."""
  targets = {tuple(p) + ('temperature',): tuple(p) for p in paths}
  return jax.tree_util.tree_map_with_path(
    lambda kp, x: fn(targets[_names(kp)], x) if _names(kp) in targets else x, tree
  )


def _layer(tree, path: Path):
  for key in path:
    tree = tree[key]
  return tree


def _without_temperature_grads(params, paths: Sequence[Path]):
  return _map_temperatures(lambda _, t: jax.lax.stop_gradient(t), params, paths)


def _with_temperature_grads(params, params_cot, paths: Sequence[Path]):
  def add(path, cot):
    p, g = _layer(params, path), _layer(params_cot, path)
    return cot - (jnp.sum(p['w'] * g['w']) + jnp.sum(p['b'] * g['b'])) / p['temperature']

  return _map_temperatures(add, params_cot, paths)


def _zeros_like_tree(tree):
  return jax.tree.map(jnp.zeros_like, tree)
