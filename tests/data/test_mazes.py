"""The maze generator (determinism, the reference's format, valid shortest routes) and the on-device augmentation."""

import collections

import jax
import numpy as np
import pytest

from common.data.synthetic import mazes

COLOURS = {mazes.WALL, mazes.OPEN, mazes.START, mazes.END, mazes.ROUTE}


def pixels_of(image, colour):
  return [tuple(p) for p in np.argwhere((image == colour).all(-1))]


def follow(image, route):
  """Walks the moves from the red pixel; returns the positions visited (None if a move hits a wall or leaves)."""
  pos = pixels_of(image, mazes.START)[0]
  seen = [pos]
  for move in route:
    if move == mazes.WAIT:
      continue
    pos = (pos[0] + int(mazes.DELTAS[move, 0]), pos[1] + int(mazes.DELTAS[move, 1]))
    if not (0 <= pos[0] < image.shape[0] and 0 <= pos[1] < image.shape[1]) or (image[pos] == 0).all():
      return None
    seen.append(pos)
  return seen


def bfs_distance(image, source, target):
  """Shortest number of moves between two pixels through non-wall pixels."""
  open_ = ~(image == 0).all(-1)
  dist = {source: 0}
  queue = collections.deque([source])
  while queue:
    p = queue.popleft()
    for dr, dc in mazes.DELTAS[:4]:
      q = (p[0] + int(dr), p[1] + int(dc))
      if 0 <= q[0] < image.shape[0] and 0 <= q[1] < image.shape[1] and open_[q] and q not in dist:
        dist[q] = dist[p] + 1
        queue.append(q)
  return dist.get(target), len(dist), int(open_.sum())


def reference_get_solution(image, route_length):
  """A NumPy transcription of the reference's MazeImageFolder.get_solution on a [0, 1] float image: the route read
  by following blue pixels from the start, checking up, down, left, right in that order."""
  x = image.astype(np.float32) / 255
  start, end = np.argwhere((x == [1, 0, 0]).all(2))[0], np.argwhere((x == [0, 1, 0]).all(2))[0]
  y, c = start
  path = [4] * route_length
  pi = 0
  while (y, c) != tuple(end):
    ny, nc, d = -1, -1, -1
    for move, (dy, dc) in enumerate(((-1, 0), (1, 0), (0, -1), (0, 1))):
      qy, qc = y + dy, c + dc
      if 0 <= qy < x.shape[0] and 0 <= qc < x.shape[1]:
        if (x[qy, qc] == [0, 0, 1]).all() or (x[qy, qc] == [0, 1, 0]).all():
          ny, nc, d = qy, qc, move
          break
    path[pi] = d
    pi += 1
    x[y, c] = [255, 255, 255]
    y, c = ny, nc
    if pi == len(path):
      break
  return np.array(path)


def test_deterministic_per_seed():
  a, b = mazes.generate(20, 11, 16, seed=3), mazes.generate(20, 11, 16, seed=3)
  for k in a:
    np.testing.assert_array_equal(a[k], b[k])
  c = mazes.generate(20, 11, 16, seed=4)
  assert not np.array_equal(a['images'], c['images'])


@pytest.mark.parametrize('size', [5, 11, 15])
def test_format_and_routes(size):
  length = 2 * ((size - 1) // 2) ** 2  # longer than any route: nothing truncated
  data = mazes.generate(40, size, length, seed=0)
  n = (size - 1) // 2
  assert data['images'].shape == (40, size, size, 3) and data['images'].dtype == np.uint8
  assert data['routes'].shape == (40, length)
  keys = ('images', 'routes', 'route_lengths', 'starts', 'ends')
  for img, route, full, start, end in zip(*(data[k] for k in keys)):
    assert {tuple(p) for p in img.reshape(-1, 3)} <= COLOURS
    assert pixels_of(img, mazes.START) == [tuple(start)] and pixels_of(img, mazes.END) == [tuple(end)]
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    assert (border == 0).all()
    # A perfect maze: n^2 cells joined by n^2 - 1 openings, all connected.
    dist, reached, open_count = bfs_distance(img, tuple(start), tuple(end))
    assert open_count == 2 * n * n - 1 and reached == open_count
    # The route walks open pixels from start to end, is a shortest route, is padded with waits.
    assert full % 2 == 0 and full == dist
    assert (route[full:] == mazes.WAIT).all() and (route[:full] != mazes.WAIT).all()
    visited = follow(img, route)
    assert visited is not None and visited[-1] == tuple(end)
    # The blue pixels are exactly the route between start and end, and the reference's reader recovers the route.
    assert set(visited[1:-1]) == set(pixels_of(img, mazes.ROUTE))
    np.testing.assert_array_equal(reference_get_solution(img, length), route)


def test_truncation_keeps_the_first_moves():
  long, short = mazes.generate(30, 15, 100, seed=1), mazes.generate(30, 15, 6, seed=1)
  np.testing.assert_array_equal(long['images'], short['images'])
  np.testing.assert_array_equal(long['routes'][:, :6], short['routes'])
  assert (long['route_lengths'] > 6).any()


def test_bad_size():
  with pytest.raises(ValueError, match='odd'):
    mazes.generate(2, 10, 8, seed=0)


def test_model_inputs_show_the_route_as_open_path():
  img = mazes.generate(4, 11, 30, seed=0)['images']
  x = np.asarray(mazes.model_inputs(img, expand_range=True))
  route = (img == mazes.ROUTE).all(-1)
  assert route.any()
  np.testing.assert_array_equal(x[route], 1.0)
  assert x.min() == -1.0 and x.max() == 1.0
  y = np.asarray(mazes.model_inputs(img, expand_range=False))
  np.testing.assert_allclose(y, (x + 1) / 2)
  np.testing.assert_array_equal(y[(img == mazes.START).all(-1)], [[1, 0, 0]] * 4)


def test_augmentation_rotates_and_flips_the_route_with_the_image():
  data = mazes.generate(64, 11, 40, seed=2)
  aug = jax.jit(mazes.augment)
  kinds = set()
  for k in range(4):
    images, routes = jax.device_get(aug(jax.random.PRNGKey(k), data['images'], data['routes']))
    for img, route, orig in zip(images, routes, data['images']):
      visited = follow(img, route)
      assert visited is not None and visited[-1] == pixels_of(img, mazes.END)[0]
      assert set(visited[1:-1]) == set(pixels_of(img, mazes.ROUTE))
      kinds.add(next(i for i, t in enumerate(transforms(orig)) if np.array_equal(t, img)))
  assert len(kinds) == 8  # every symmetry of the square occurs (12 combinations reach the 8 symmetries)


def transforms(img):
  """The 8 symmetries of a square image, in NumPy."""
  out = []
  for k in range(4):
    r = np.rot90(img, k)
    out += [r, np.fliplr(r)]
  return out


def test_each_transformation_maps_moves_as_numpy_does():
  img = mazes.generate(1, 11, 40, seed=5)
  image, route = img['images'][0], img['routes'][0]
  for table, fn in (
    (mazes.ROT_CCW, lambda x: np.rot90(x, 1)),
    (mazes.ROT_CW, lambda x: np.rot90(x, -1)),
    (mazes.FLIP_LR, np.fliplr),
    (mazes.FLIP_UD, np.flipud),
  ):
    new = fn(image)
    visited = follow(new, table[route])
    assert visited is not None and visited[-1] == pixels_of(new, mazes.END)[0]
