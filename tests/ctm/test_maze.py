"""Maze route loss and auto-curriculum (against a NumPy transcription of the reference), route walking and
re-application, the maze task and backbone."""

import collections

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common.ctm import maze_loss, maze_solve
from common.ctm.backbones import ResNetBackbone
from common.ctm.maze_backbone import MazeResNet
from common.ctm.maze_task import MazeTask
from common.data.synthetic import mazes
from common.train.errors import ConfigurationError


def reference_maze_loss(pred, cert, targets, lookahead, use_most_certain):
  """NumPy transcription of the reference's utils/losses.py maze_loss.

  pred (B, L, 5, T) logits, cert (B, 2, T), targets (B, L). Returns (loss, loss_index_2, upto_where).
  """
  b, length, _, t = pred.shape
  shifted = pred - pred.max(2, keepdims=True)
  logp = shifted - np.log(np.exp(shifted).sum(2, keepdims=True))
  losses = -np.take_along_axis(logp, targets[:, :, None, None].repeat(t, -1), 2)[:, :, 0]  # (B, L, T)
  iscorrects = np.cumsum(pred.argmax(2) == targets[..., None], 1)
  correct_mask = iscorrects == np.arange(1, length + 1).reshape(1, -1, 1)
  correct_mask[:, 0, :] = 1
  upto_where = np.cumsum(correct_mask, 1).argmax(1).max(-1) + lookahead
  loss_mask = np.zeros_like(losses)
  for bi in range(b):
    loss_mask[bi, : upto_where[bi]] = 1
  losses = (losses * loss_mask).sum(1) / loss_mask.sum(1)
  index_1 = losses.argmin(1)
  index_2 = cert[:, 1].argmax(-1) if use_most_certain else np.full(b, -1)
  rows = np.arange(b)
  loss = ((losses[rows, index_1] + losses[rows, index_2]) / 2).mean()
  return loss, index_2 % t, upto_where


def planted(seed, b=6, t=5, length=9):
  """Random logits (B, T, L*5) whose argmax is right for a random prefix of the route at each tick."""
  rng = np.random.default_rng(seed)
  targets = rng.integers(0, 5, (b, length))
  logits = rng.normal(size=(b, t, length, 5))
  prefix = rng.integers(0, length + 1, (b, t))
  for i in range(b):
    for j in range(t):
      for k in range(length):
        wrong = (targets[i, k] + 1 + rng.integers(4)) % 5
        boost = targets[i, k] if k < prefix[i, j] else (wrong if k == prefix[i, j] else None)
        if boost is not None:
          logits[i, j, k, boost] += 6.0
  certainties = rng.uniform(size=(b, t))
  return logits.reshape(b, t, -1).astype(np.float32), certainties.astype(np.float32), targets.astype(np.int32)


@pytest.mark.parametrize('seed,lookahead,use_most_certain', [(0, 5, True), (1, 5, False), (2, 2, True), (3, 20, True)])
def test_maze_loss_matches_reference_transcription(seed, lookahead, use_most_certain):
  logits, cert, targets = planted(seed)
  b, t = cert.shape
  ref_pred = logits.reshape(b, t, -1, 5).transpose(0, 2, 3, 1).astype(np.float64)
  ref_cert = np.stack([1 - cert, cert], 1).astype(np.float64)
  want, want_t2, want_upto = reference_maze_loss(ref_pred, ref_cert, targets, lookahead, use_most_certain)
  args = (jnp.asarray(logits), jnp.asarray(cert), jnp.asarray(targets), lookahead, use_most_certain)
  loss, aux = maze_loss.maze_loss(*args)
  np.testing.assert_allclose(float(loss), want, rtol=1e-5)
  np.testing.assert_array_equal(np.asarray(aux['t2']), want_t2)
  np.testing.assert_array_equal(np.asarray(aux['upto']), want_upto)
  assert len(set(want_upto.tolist())) > 1  # the planted prefixes make the curriculum differ between examples


def test_curriculum_counts_the_best_ticks_correct_prefix():
  # Route of 8 steps, 2 ticks: tick 0 gets 3 leading steps right, tick 1 gets 1; example 2 gets the first step wrong.
  correct = np.zeros((2, 2, 8), bool)
  correct[0, 0, :3] = True
  correct[0, 1, :1] = True
  correct[0, 1, 5:] = True  # correct steps after a wrong one do not count
  np.testing.assert_array_equal(np.asarray(maze_loss.curriculum_upto(jnp.asarray(correct), 5)), [3 - 1 + 5, 0 + 5])


def test_gradient_ignores_steps_beyond_the_curriculum():
  rng = np.random.default_rng(4)
  targets = rng.integers(0, 5, (1, 12))
  logits = rng.normal(size=(1, 2, 12, 5))
  logits[0, 0, np.arange(3), targets[0, :3]] += 8.0  # tick 0: 3 leading steps right, then a wrong one
  logits[0, 0, 3, (targets[0, 3] + 1) % 5] += 8.0
  logits = jnp.asarray(logits.reshape(1, 2, 60), jnp.float32)
  cert, targets = jnp.array([[0.3, 0.6]]), jnp.asarray(targets)
  grad = jax.grad(lambda p: maze_loss.maze_loss(p, cert, targets, 2)[0])(logits)
  assert int(maze_loss.maze_loss(logits, cert, targets, 2)[1]['upto'][0]) == 3 - 1 + 2
  per_step = np.abs(np.asarray(grad)).reshape(2, 12, 5).sum((0, 2))
  assert (per_step[:4] > 0).all() and (per_step[4:] == 0).all()


def reference_has_solved(image, route, fault_tolerance):
  """NumPy transcription of the reference's has_solved_checker (valid_only=True, no exclusions)."""
  h, w, _ = image.shape
  start = tuple(np.argwhere((image == mazes.START).all(-1))[0])
  goal = tuple(np.argwhere((image == mazes.END).all(-1))[0])
  pos, mistakes, final = start, 0, start
  for move in route:
    if mistakes > fault_tolerance:
      break
    nxt = (pos[0] + int(mazes.DELTAS[move, 0]), pos[1] + int(mazes.DELTAS[move, 1]))
    if not (0 <= nxt[0] < h and 0 <= nxt[1] < w) or (image[nxt] == 0).all():
      mistakes += 1
      continue
    pos = nxt
    if pos == goal and mistakes <= fault_tolerance:
      return True, pos
    if mistakes <= fault_tolerance:
      final = pos
  return final == goal and mistakes <= fault_tolerance, final


@pytest.mark.parametrize('fault_tolerance', [0, 2])
def test_walk_matches_reference_checker(fault_tolerance):
  data = mazes.generate(48, 11, 24, seed=6)
  rng = np.random.default_rng(fault_tolerance)
  routes = data['routes'].copy()
  noisy = rng.uniform(size=routes.shape) < 0.15
  routes[noisy] = rng.integers(0, 5, noisy.sum())
  images = data['images']
  out = jax.device_get(
    jax.jit(maze_solve.walk, static_argnums=4)(
      jnp.asarray((images == 0).all(-1)), data['starts'], data['ends'], routes, fault_tolerance
    )
  )
  outcomes = set()
  for i in range(len(images)):
    solved, final = reference_has_solved(images[i], routes[i], fault_tolerance)
    assert bool(out['solved'][i]) == solved
    if not solved:
      assert tuple(out['final'][i]) == final
    outcomes.add(solved)
  assert outcomes == {True, False}


def shortest_moves(x):
  """Oracle for re-application tests: the shortest route from the red to the green pixel of a [-1, 1] model input."""
  wall = (x == -1).all(-1)
  start = tuple(np.argwhere((x == [1, -1, -1]).all(-1))[0])
  goal = tuple(np.argwhere((x == [-1, 1, -1]).all(-1))[0])
  back = {start: None}
  queue = collections.deque([start])
  while queue:
    p = queue.popleft()
    for move, (dr, dc) in enumerate(mazes.DELTAS[:4]):
      q = (p[0] + int(dr), p[1] + int(dc))
      if not wall[q] and q not in back:
        back[q] = (p, move)
        queue.append(q)
  moves, p = [], goal
  while back[p] is not None:
    p, move = back[p]
    moves.append(move)
  return moves[::-1]


def oracle_apply(route_length, iterations=3):
  """An apply_fn whose most certain tick (the second) predicts the first `route_length` moves of the true route."""

  def host(x):
    out = np.zeros((x.shape[0], iterations, route_length, 5), np.float32)
    for i, xi in enumerate(np.asarray(x)):
      moves = (shortest_moves(xi) + [mazes.WAIT] * route_length)[:route_length]
      out[i, 1, np.arange(route_length), moves] = 10.0
    return out.reshape(x.shape[0], iterations, -1)

  def apply_fn(x):
    shape = jax.ShapeDtypeStruct((x.shape[0], iterations, route_length * 5), jnp.float32)
    predictions = jax.pure_callback(host, shape, x)
    certainties = jnp.broadcast_to(jnp.array([0.1, 0.9, 0.2]), (x.shape[0], iterations))
    return {'predictions': predictions, 'certainties': certainties}

  return apply_fn


def test_reapplication_solves_long_routes_in_route_length_steps():
  route_length = 6
  data = mazes.generate(12, 15, route_length, seed=7)
  solve = jax.jit(lambda im: maze_solve.solve(oracle_apply(route_length), im, route_length, max_applications=20))
  out = jax.device_get(solve(data['images']))
  need = -(-data['route_lengths'] // route_length)  # ceil: one application per route_length moves
  assert out['solved'].all()
  np.testing.assert_array_equal(out['applications'], need)
  np.testing.assert_array_equal(out['solved_first'], need == 1)
  np.testing.assert_array_equal(out['first_route'], data['routes'])  # the first application: the truncated route
  assert need.max() > 1
  capped = jax.device_get(
    jax.jit(lambda im: maze_solve.solve(oracle_apply(route_length), im, route_length, max_applications=2))(
      data['images']
    )
  )
  np.testing.assert_array_equal(capped['solved'], need <= 2)


def test_reapplication_stops_when_no_progress():
  data = mazes.generate(4, 11, 5, seed=8)

  def waits(x):  # always predicts 'wait': never moves, never solves
    b = x.shape[0]
    logits = jnp.zeros((b, 2, 5, 5)).at[..., mazes.WAIT].set(5.0).reshape(b, 2, 25)
    return {'predictions': logits, 'certainties': jnp.zeros((b, 2))}

  out = jax.device_get(jax.jit(lambda im: maze_solve.solve(waits, im, 5, max_applications=9))(data['images']))
  assert not out['solved'].any()
  np.testing.assert_array_equal(out['applications'], 1)


def test_task_batches_are_deterministic_and_shaped():
  task = MazeTask(maze_size=9, route_length=7, num_train=50, num_eval=20, batch_size=5, eval_batch_size=8)
  arrays = task.train_arrays()
  key = jax.random.PRNGKey(0)
  a, b = task.train_batch(arrays, key, 3), task.train_batch(arrays, key, 3)
  np.testing.assert_array_equal(a['inputs'], b['inputs'])
  assert a['inputs'].shape == (5, 9, 9, 3) and a['targets'].shape == (5, 7)
  assert not np.array_equal(a['targets'], task.train_batch(arrays, key, 4)['targets'])
  evals = task.eval_batches()
  assert [len(e['weight']) for e in evals] == [8, 8, 8] and sum(e['weight'].sum() for e in evals) == 20
  assert task.out_dims == 35


def test_task_rejects_bad_sizes():
  with pytest.raises(ConfigurationError, match='maze_size=10'):
    MazeTask(maze_size=10)
  with pytest.raises(ConfigurationError, match='augment_p'):
    MazeTask(augment_p=1.5)


def test_backbone_has_the_reference_resnet34_2_shape():
  net = MazeResNet(width=64, blocks=(3, 4))
  x = jnp.zeros((1, 39, 39, 3))
  out = jax.eval_shape(lambda: net.init_with_output(jax.random.PRNGKey(0), x)[0])
  assert out.shape == (1, 100, 128)  # 39 -> max-pool 20 -> stride-2 stage 10: 10x10 tokens of 128 features
  params = lambda m: sum(p.size for p in jax.tree_util.tree_leaves(jax.eval_shape(m.init, jax.random.PRNGKey(0), x)))  # noqa: E731
  assert params(net) == params(ResNetBackbone(depth=34, stages=2))  # the same network as the reference-exact one
  small = MazeResNet(width=8, blocks=(1,), initial_pool=False)
  assert jax.eval_shape(lambda: small.init_with_output(jax.random.PRNGKey(0), x)[0]).shape == (1, 39 * 39, 8)
