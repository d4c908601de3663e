"""The maze task: predict the route of a maze image as L moves, trained with the route loss and auto-curriculum.

Duck-typed like common/train/tasks.py. The training mazes are generated once (common/data/synthetic/mazes.py, a
pure function of `data_seed`) and kept on the device as uint8 arrays; each step gathers its batch from
fold_in(key, step), augments it (rotations and flips that remap the route) and paints the route pixels as open path,
all inside the jitted step. The evaluation mazes are a separate, fixed set of the same size (seed stream 1), never
augmented. Models must return {'predictions': (B, T, route_length * 5), 'certainties': (B, T)}.

Metrics: see common/ctm/maze_loss.py route_metrics.
"""

import dataclasses
import functools

import jax
import numpy as np

from common.ctm import maze_loss
from common.data.synthetic import mazes
from common.train.errors import ConfigurationError

_TRAIN_STREAM, _EVAL_STREAM = 0, 1


@functools.lru_cache(maxsize=8)
def maze_set(num: int, size: int, route_length: int, seed: int) -> dict[str, np.ndarray]:
  """Cached mazes.generate (a run builds its training and evaluation sets once)."""
  return mazes.generate(num, size, route_length, seed)


def eval_seed(data_seed: int) -> int:
  """The generator seed of the evaluation mazes (disjoint stream from the training mazes)."""
  return data_seed * 1000 + _EVAL_STREAM + 1


@dataclasses.dataclass
class MazeTask:
  """Mazes of `maze_size` pixels, routes of `route_length` moves.

  Attributes:
    maze_size: odd image side (e.g. 11 = 5x5 cells; the reference trains on 39).
    route_length: L, moves predicted (routes truncated or padded with wait; the reference uses 100).
    num_train / num_eval: mazes in the training set and the fixed evaluation set.
    batch_size / eval_batch_size: examples per step / per evaluation batch.
    curriculum_lookahead: the reference's cirriculum_lookahead (5).
    augment_p: probability of each augmentation (rotation, left-right flip, up-down flip; the reference's 0.5).
    expand_range: inputs in [-1, 1] (True, the reference's default) or [0, 1].
    use_most_certain: read (and train) the most certain tick; False reads the last tick (the reference's LSTM).
    data_seed: seed of the generated mazes (the training sample order comes from the run's seed).
  """

  maze_size: int = 11
  route_length: int = 20
  num_train: int = 20000
  num_eval: int = 1024
  batch_size: int = 64
  eval_batch_size: int = 256
  curriculum_lookahead: int = 5
  augment_p: float = 0.5
  expand_range: bool = True
  use_most_certain: bool = True
  data_seed: int = 0

  def __post_init__(self):
    try:
      mazes.check_size(self.maze_size)
    except ValueError as err:
      raise ConfigurationError(f'MazeTask.maze_size={self.maze_size}: {err} Choose e.g. 11, 15, 21 or 39.') from None
    for name in ('route_length', 'num_train', 'num_eval', 'batch_size', 'eval_batch_size', 'curriculum_lookahead'):
      if getattr(self, name) < 1:
        raise ConfigurationError(f'MazeTask.{name}={getattr(self, name)} must be at least 1.')
    if not 0.0 <= self.augment_p <= 1.0:
      raise ConfigurationError(f'MazeTask.augment_p={self.augment_p} must be a probability in [0, 1].')

  @property
  def out_dims(self) -> int:
    return self.route_length * mazes.NUM_MOVES

  def train_arrays(self):
    data = maze_set(self.num_train, self.maze_size, self.route_length, self.data_seed * 1000)
    return {'images': data['images'], 'routes': data['routes']}

  def train_batch(self, arrays, key, step):
    k_idx, k_aug = jax.random.split(jax.random.fold_in(key, step))
    idx = jax.random.randint(k_idx, (self.batch_size,), 0, arrays['images'].shape[0])
    images, routes = mazes.augment(k_aug, arrays['images'][idx], arrays['routes'][idx], self.augment_p)
    return {'inputs': mazes.model_inputs(images, self.expand_range), 'targets': routes}

  def eval_batches(self):
    data = maze_set(self.num_eval, self.maze_size, self.route_length, eval_seed(self.data_seed))
    return batches(data, self.eval_batch_size, self.expand_range)

  def init_inputs(self):
    return np.zeros((2, self.maze_size, self.maze_size, 3), np.float32)

  def loss(self, outputs, batch):
    return maze_loss.route_metrics(
      outputs, batch['targets'], self.curriculum_lookahead, self.use_most_certain, batch.get('weight')
    )


def batches(data: dict[str, np.ndarray], batch_size: int, expand_range: bool) -> list[dict[str, np.ndarray]]:
  """Fixed-size numpy batches {'inputs', 'targets', 'weight'} of a maze set, the last one zero-padded."""
  num = len(data['images'])
  out = []
  for i in range(0, num, batch_size):
    images = data['images'][i : i + batch_size]
    routes = data['routes'][i : i + batch_size]
    pad = batch_size - len(images) if num > batch_size else 0
    weight = np.concatenate([np.ones(len(images), np.float32), np.zeros(pad, np.float32)])
    if pad:
      images = np.concatenate([images, np.repeat(images[:1], pad, 0)])
      routes = np.concatenate([routes, np.repeat(routes[:1], pad, 0)])
    out.append(
      {
        'inputs': np.asarray(mazes.model_inputs(images, expand_range)),
        'targets': routes,
        'weight': weight,
      }
    )
  return out
