"""Solving mazes larger than the route head by re-application (the paper's generalisation test), in JAX.

Reference: tasks/mazes/analysis/run.py ('gen' action and has_solved_checker). A model predicts L moves from the
start; they are walked through the maze; if the end is not reached, the position reached becomes the new start
(the old start is painted as open path, the new one red) and the model is applied again, up to
`max_applications` times. So a maze whose route is longer than L is solved through more applications, each of T
ticks: longer routes through more ticks, with the trained model unchanged.

Walking a route (has_solved_checker with valid_only=True): a move into a wall or off the image is a mistake and is
skipped; after more than `fault_tolerance` mistakes the rest of the route is ignored; wait moves stay in place; the
maze is solved as soon as the walk stands on the end with at most `fault_tolerance` mistakes. The reference's
analysis uses a tolerance of 2 and 20 applications. Deviation: the reference also keeps an exclusion list of
starts that made no progress; here an application that makes no progress ends that maze's attempts (the model is
deterministic at evaluation, so applying it again to the same image would repeat the same route).
"""

from typing import Callable

import jax
import jax.numpy as jnp

from common.ctm.maze_loss import route_logits
from common.data.synthetic import mazes


def find_pixel(images: jax.Array, colour) -> jax.Array:
  """(B, H, W, 3) uint8 -> (B, 2) int32 (row, col) of the first pixel of `colour` in row-major order."""
  b, _, w, _ = images.shape
  hit = jnp.all(images == jnp.asarray(colour, images.dtype), -1).reshape(b, -1)
  flat = jnp.argmax(hit, -1)
  return jnp.stack([flat // w, flat % w], -1).astype(jnp.int32)


def walk(walls: jax.Array, start: jax.Array, goal: jax.Array, route: jax.Array, fault_tolerance: int) -> dict:
  """Walks (B, L) moves from start (B, 2) through walls (B, H, W) bool.

  Returns {'solved': (B,) bool, 'final': (B, 2) last position reached, 'mistakes': (B,) int32}.
  """
  b, h, w = walls.shape
  deltas = jnp.asarray(mazes.DELTAS)
  rows = jnp.arange(b)

  def step(carry, move):
    pos, mistakes, solved = carry
    active = (mistakes <= fault_tolerance) & ~solved
    nxt = pos + deltas[move]
    inside = (nxt[:, 0] >= 0) & (nxt[:, 0] < h) & (nxt[:, 1] >= 0) & (nxt[:, 1] < w)
    blocked = walls[rows, jnp.clip(nxt[:, 0], 0, h - 1), jnp.clip(nxt[:, 1], 0, w - 1)]
    valid = inside & ~blocked
    mistakes = mistakes + (active & ~valid).astype(jnp.int32)
    moved = active & valid
    pos = jnp.where(moved[:, None], nxt, pos)
    solved = solved | (moved & jnp.all(pos == goal, -1))
    return (pos, mistakes, solved), None

  init = (start.astype(jnp.int32), jnp.zeros((b,), jnp.int32), jnp.zeros((b,), bool))
  (final, mistakes, solved), _ = jax.lax.scan(step, init, route.T.astype(jnp.int32))
  return {'solved': solved, 'final': final, 'mistakes': mistakes}


def chosen_route(outputs: dict, route_length: int, use_most_certain: bool) -> jax.Array:
  """(B, L) argmax moves at the most certain tick (or the last tick)."""
  logits = route_logits(outputs['predictions'], route_length)  # (B, T, L, 5)
  t = logits.shape[1]
  tick = jnp.argmax(outputs['certainties'], 1) if use_most_certain else jnp.full((logits.shape[0],), t - 1)
  return jnp.argmax(jnp.take_along_axis(logits, tick[:, None, None, None], 1)[:, 0], -1)


def solve(
  apply_fn: Callable[[jax.Array], dict],
  images: jax.Array,
  route_length: int,
  *,
  max_applications: int = 20,
  fault_tolerance: int = 2,
  use_most_certain: bool = True,
  expand_range: bool = True,
) -> dict[str, jax.Array]:
  """Re-applies `apply_fn` (model inputs (B, H, W, 3) -> outputs) to (B, H, W, 3) uint8 mazes until solved.

  Returns {'solved': (B,) bool, 'applications': (B,) int32 applications run (the one that solved it, or the last
  one tried), 'solved_first': (B,) bool solved by the first application, 'first_route': (B, L) the moves the
  first application chose (to score against the route truncated to L moves)}.
  """
  b = images.shape[0]
  walls = jnp.all(images == 0, -1)
  goal = find_pixel(images, mazes.END)
  rows = jnp.arange(b)
  start_colour = jnp.asarray(mazes.START, images.dtype)
  open_colour = jnp.asarray(mazes.OPEN, images.dtype)

  def body(state):
    imgs, solved, done, apps, first, first_route, r = state
    route = chosen_route(apply_fn(mazes.model_inputs(imgs, expand_range)), route_length, use_most_certain)
    first_route = jnp.where(r == 0, route, first_route)
    start = find_pixel(imgs, mazes.START)
    res = walk(walls, start, goal, route, fault_tolerance)
    trying = ~done
    apps = jnp.where(trying, r + 1, apps)
    now = trying & res['solved']
    first = jnp.where(r == 0, now, first)
    stuck = jnp.all(res['final'] == start, -1)
    moved = imgs.at[rows, start[:, 0], start[:, 1]].set(open_colour)
    moved = moved.at[rows, res['final'][:, 0], res['final'][:, 1]].set(start_colour)
    imgs = jnp.where((trying & ~now)[:, None, None, None], moved, imgs)
    return imgs, solved | now, done | now | stuck, apps, first, first_route, r + 1

  def cond(state):
    return (state[-1] < max_applications) & ~jnp.all(state[2])

  zeros = jnp.zeros((b,), bool)
  no_route = jnp.zeros((b, route_length), jnp.int32)
  init = (images, zeros, zeros, jnp.zeros((b,), jnp.int32), zeros, no_route, jnp.zeros((), jnp.int32))
  _, solved, _, apps, first, first_route, _ = jax.lax.while_loop(cond, body, init)
  return {'solved': solved, 'applications': apps, 'solved_first': first, 'first_route': first_route}
