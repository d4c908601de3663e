"""2-D mazes in the CTM paper's format, generated offline (NumPy, deterministic per seed), plus on-device augmentation.

Format (reference SakanaAI/continuous-thought-machines, data/custom_datasets.py MazeImageFolder):
  image  (H, W, 3) uint8, H = W = `size` (odd): walls black (0, 0, 0), open pixels white (255, 255, 255), the start
         red (255, 0, 0), the end green (0, 255, 0) and the pixels of the route between them blue (0, 0, 255).
  route  (L,) int32 moves, one pixel per move: 0 up (row - 1), 1 down (row + 1), 2 left (col - 1), 3 right
         (col + 1), 4 wait. The shortest route from start to end, truncated to L moves or padded with waits.
The model never sees the route: `model_inputs` paints the blue pixels white (open path), as the reference does.

Generator: a maze of size S has n = (S - 1) / 2 cells per side, cell (r, c) at pixel (2r + 1, 2c + 1), and the
wall pixel between two neighbouring cells opened when they are joined. The cells are carved by a randomized
depth-first search (recursive backtracker) run for all mazes of a batch at once: each iteration pushes one unvisited
neighbour of the top of every maze's stack or pops it, so every maze finishes after exactly 2 n^2 - 1 iterations
and the loop is vectorised over mazes. The result is a perfect maze (a spanning tree of the cells), so the route
between two cells is unique: it is read off the tree (start up to the lowest common ancestor, then down to the
end), which is the route a breadth-first search would find. Start and end are two distinct cells drawn uniformly.
Our choice where the reference's data are fixed files: the reference's mazes come from Google Drive, without the
generator that made them, so the maze distribution here is ours (DFS mazes have long corridors and few branches).

Augmentation (reference, training set only): with probability p rotate by +-90 degrees (each 1/2), then with
probability p flip left-right, then with probability p flip up-down; the moves of the route are remapped so the
route stays the route of the transformed image. Here it runs inside the jitted step as a pure function of a key.
"""

import jax
import jax.numpy as jnp
import numpy as np

UP, DOWN, LEFT, RIGHT, WAIT = 0, 1, 2, 3, 4
NUM_MOVES = 5
DELTAS = np.array([(-1, 0), (1, 0), (0, -1), (0, 1), (0, 0)], np.int32)  # (row, col) change of each move
OPPOSITE = np.array([DOWN, UP, RIGHT, LEFT, WAIT], np.int32)

WALL = (0, 0, 0)
OPEN = (255, 255, 255)
START = (255, 0, 0)
END = (0, 255, 0)
ROUTE = (0, 0, 255)

# How each transformation of the image maps a move (index: old move, value: new move).
ROT_CCW = np.array([LEFT, RIGHT, DOWN, UP, WAIT], np.int32)  # np.rot90(image, k=1): up becomes left
ROT_CW = np.array([RIGHT, LEFT, UP, DOWN, WAIT], np.int32)  # np.rot90(image, k=-1): up becomes right
FLIP_LR = np.array([UP, DOWN, RIGHT, LEFT, WAIT], np.int32)
FLIP_UD = np.array([DOWN, UP, LEFT, RIGHT, WAIT], np.int32)


def check_size(size: int) -> int:
  """Number of cells per side of a maze of `size` pixels; raises ValueError unless size is odd and >= 5."""
  if size < 5 or size % 2 == 0:
    raise ValueError(f'maze size={size} must be odd and at least 5 (2 cells per side).')
  return (size - 1) // 2


def _neighbours(n: int) -> np.ndarray:
  """(n*n, 4) index of the cell above, below, left and right of each cell (-1 outside the grid)."""
  r, c = np.divmod(np.arange(n * n), n)
  out = np.full((n * n, 4), -1, np.int64)
  for move in (UP, DOWN, LEFT, RIGHT):
    rr, cc = r + DELTAS[move, 0], c + DELTAS[move, 1]
    inside = (rr >= 0) & (rr < n) & (cc >= 0) & (cc < n)
    out[inside, move] = (rr * n + cc)[inside]
  return out


def carve(num: int, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Randomized DFS on `num` grids of n x n cells at once.

  Returns (parent (num, n*n) int64 with -1 at the root, parent_move (num, n*n) int32: the move from a cell to its
  parent, depth (num, n*n) int32 in the tree).
  """
  cells = n * n
  nbr = _neighbours(n)
  rows = np.arange(num)
  root = rng.integers(cells, size=num)
  visited = np.zeros((num, cells), bool)
  visited[rows, root] = True
  stack = np.zeros((num, cells), np.int64)
  stack[:, 0] = root
  sp = np.ones(num, np.int64)
  parent = np.full((num, cells), -1, np.int64)
  parent_move = np.full((num, cells), WAIT, np.int32)
  depth = np.zeros((num, cells), np.int32)
  for _ in range(2 * cells - 1):  # one push or pop per iteration: n^2 - 1 pushes and n^2 pops for every maze
    top = stack[rows, sp - 1]
    candidates = nbr[top]  # (num, 4)
    free = (candidates >= 0) & ~visited[rows[:, None], np.maximum(candidates, 0)]
    scores = np.where(free, rng.random((num, 4)), -1.0)
    move = scores.argmax(1)
    push = free.any(1)
    i, child, frm, mv = rows[push], candidates[push, move[push]], top[push], move[push]
    visited[i, child] = True
    parent[i, child] = frm
    parent_move[i, child] = OPPOSITE[mv]
    depth[i, child] = depth[i, frm] + 1
    stack[i, sp[push]] = child
    sp = sp + np.where(push, 1, -1)
  assert not sp.any() and visited.all(), 'the depth-first search must visit every cell and empty its stack'
  return parent, parent_move, depth


def _moves_to(parent, parent_move, node, stop, max_len):
  """Moves from `node` up the tree until `stop` (or a marked cell when `stop` is a (num, cells) mask)."""
  rows = np.arange(len(node))
  moves = np.full((len(node), max_len), WAIT, np.int32)
  count = np.zeros(len(node), np.int64)
  cur = node.copy()
  for i in range(max_len):
    active = ~stop[rows, cur] if stop.ndim == 2 else cur != stop
    if not active.any():
      break
    moves[active, i] = parent_move[rows, cur][active]
    cur = np.where(active, parent[rows, cur], cur)
    count += active
  return moves, count, cur


def cell_routes(parent, parent_move, depth, start, end) -> tuple[np.ndarray, np.ndarray]:
  """The unique tree path from `start` to `end` as cell moves: (moves (num, cells - 1) padded with WAIT, lengths)."""
  num, cells = parent.shape
  rows = np.arange(num)
  ancestors = np.zeros((num, cells), bool)  # start and all its ancestors
  cur = start.copy()
  ancestors[rows, cur] = True
  for _ in range(int(depth.max())):
    cur = np.where(parent[rows, cur] >= 0, parent[rows, cur], cur)
    ancestors[rows, cur] = True
  end_up, n_end, lca = _moves_to(parent, parent_move, end, ancestors, cells)
  start_up, n_start, _ = _moves_to(parent, parent_move, start, lca, cells)
  i = np.arange(cells - 1)[None]
  down = n_end[:, None] - 1 - (i - n_start[:, None])  # walk end's upward chain backwards, moves reversed
  from_end = OPPOSITE[np.take_along_axis(end_up, np.clip(down, 0, cells - 1), 1)]
  total = n_start + n_end
  moves = np.where(i < n_start[:, None], start_up[:, : cells - 1], np.where(i < total[:, None], from_end, WAIT))
  return moves.astype(np.int32), total


def generate(num: int, size: int, route_length: int, seed: int) -> dict[str, np.ndarray]:
  """`num` mazes of `size` x `size` pixels, a pure function of (num, size, route_length, seed).

  Returns {'images': (num, size, size, 3) uint8, 'routes': (num, route_length) int32 pixel moves (truncated or
  padded with WAIT), 'route_lengths': (num,) int32 full route length in pixel moves (before truncation),
  'starts', 'ends': (num, 2) int32 pixel (row, col)}.
  """
  n = check_size(size)
  if route_length < 1:
    raise ValueError(f'route_length={route_length} must be at least 1.')
  rng = np.random.default_rng(np.random.SeedSequence([seed, size, 7919]))
  cells = n * n
  parent, parent_move, depth = carve(num, n, rng)
  start = rng.integers(cells, size=num)
  end = (start + 1 + rng.integers(cells - 1, size=num)) % cells  # uniform over the other cells
  moves, n_cells = cell_routes(parent, parent_move, depth, start, end)

  rows = np.arange(num)
  images = np.zeros((num, size, size, 3), np.uint8)
  r, c = np.divmod(np.arange(cells), n)
  images[:, 2 * r + 1, 2 * c + 1] = OPEN
  child = np.nonzero(parent >= 0)  # open the wall pixel between every cell and its parent
  cr, cc = np.divmod(child[1], n)
  d = DELTAS[parent_move[child]]
  images[child[0], 2 * cr + 1 + d[:, 0], 2 * cc + 1 + d[:, 1]] = OPEN

  pixel_moves = np.repeat(moves, 2, axis=1)  # one cell move crosses a wall pixel and lands on the next cell pixel
  starts = np.stack(np.divmod(start, n), -1).astype(np.int32) * 2 + 1
  ends = np.stack(np.divmod(end, n), -1).astype(np.int32) * 2 + 1
  path = starts[:, None] + np.cumsum(DELTAS[pixel_moves], axis=1)  # (num, 2 (cells - 1), 2) positions after each move
  on_route = np.arange(pixel_moves.shape[1])[None] < 2 * n_cells[:, None]
  i, j = np.nonzero(on_route)
  images[i, path[i, j, 0], path[i, j, 1]] = ROUTE
  images[rows, starts[:, 0], starts[:, 1]] = START
  images[rows, ends[:, 0], ends[:, 1]] = END

  routes = np.full((num, route_length), WAIT, np.int32)
  keep = min(route_length, pixel_moves.shape[1])
  routes[:, :keep] = pixel_moves[:, :keep]
  return {
    'images': images,
    'routes': routes,
    'route_lengths': (2 * n_cells).astype(np.int32),
    'starts': starts,
    'ends': ends,
  }


def model_inputs(images: jax.Array, expand_range: bool = True) -> jax.Array:
  """(..., H, W, 3) uint8 mazes -> float32 model inputs: route pixels shown as open path, values in [0, 1], or in
  [-1, 1] when `expand_range` (the reference's default; its paper maze script uses [0, 1])."""
  x = images.astype(jnp.float32) / 255.0
  blue = (x[..., 0] == 0) & (x[..., 1] == 0) & (x[..., 2] == 1)
  x = jnp.where(blue[..., None], 1.0, x)
  return 2.0 * x - 1.0 if expand_range else x


def augment(key: jax.Array, images: jax.Array, routes: jax.Array, p: float = 0.5) -> tuple[jax.Array, jax.Array]:
  """Random rotation and flips of (B, S, S, C) images with their (B, L) routes remapped, per example."""
  k_rot, k_dir, k_lr, k_ud = jax.random.split(key, 4)
  b = images.shape[0]
  rotate = jax.random.bernoulli(k_rot, p, (b,))
  ccw = jax.random.bernoulli(k_dir, 0.5, (b,))
  flip_lr = jax.random.bernoulli(k_lr, p, (b,))
  flip_ud = jax.random.bernoulli(k_ud, p, (b,))

  def pick(flag, new, old):
    return jnp.where(flag.reshape((b,) + (1,) * (old.ndim - 1)), new, old)

  def remap(table, r):
    return jnp.asarray(table)[r]

  images = pick(rotate, pick(ccw, jnp.rot90(images, 1, axes=(1, 2)), jnp.rot90(images, -1, axes=(1, 2))), images)
  routes = pick(rotate, pick(ccw, remap(ROT_CCW, routes), remap(ROT_CW, routes)), routes)
  images = pick(flip_lr, jnp.flip(images, 2), images)
  routes = pick(flip_lr, remap(FLIP_LR, routes), routes)
  images = pick(flip_ud, jnp.flip(images, 1), images)
  routes = pick(flip_ud, remap(FLIP_UD, routes), routes)
  return images, routes
