"""The delay project's tasks in the loop's task interface (batches generated in the jitted step, fixed eval sets)."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from common.data.synthetic import events
from common.train import tasks
from common.train.errors import ConfigurationError

_EVAL_KEY = 4242


class _EventTask:
  batch_size: int
  num_eval: int

  def _make(self, key, batch):
    raise NotImplementedError

  def train_arrays(self):
    return {}

  def train_batch(self, arrays, key, step):
    return self._make(jax.random.fold_in(key, step), self.batch_size)

  def eval_batches(self):
    # Cached: the loop and the pruning sweep both ask for the same fixed set, and generating it compiles the
    # event generator (seconds on CPU).
    if getattr(self, '_eval_cache', None) is not None:
      return self._eval_cache
    size = min(256, self.num_eval)
    make = jax.jit(self._make, static_argnums=1)
    out = []
    for i in range(0, self.num_eval, size):
      b = {k: np.asarray(v) for k, v in jax.device_get(make(jax.random.PRNGKey(_EVAL_KEY + i), size)).items()}
      b['weight'] = np.ones((size,), np.float32)
      out.append(b)
    self._eval_cache = out
    return out

  def loss(self, logits, batch):
    return tasks.softmax_classification_loss(logits, batch)


@dataclasses.dataclass
class DriftingTextureTask(_EventTask):
  """Direction of a drifting texture (8 classes) from ON/OFF events on a size x size grid."""

  batch_size: int = 32
  size: int = 16
  num_steps: int = 24
  num_directions: int = 8
  noise: float = 0.01
  num_eval: int = 512

  def __post_init__(self):
    if self.batch_size < 1:
      raise ConfigurationError(f'batch_size={self.batch_size} must be at least 1.')

  def _make(self, key, batch):
    return events.drifting_texture_batch(key, batch, self.size, self.num_steps, self.num_directions, noise=self.noise)

  def init_inputs(self):
    return jnp.zeros((2, self.num_steps, 2 * self.size * self.size))


@dataclasses.dataclass
class DelayMotifTask(_EventTask):
  """Which of `num_classes` timing motifs is hidden in Poisson background spikes."""

  batch_size: int = 32
  num_channels: int = 32
  num_steps: int = 40
  num_classes: int = 4
  motif_channels: int = 8
  max_offset: int = 10
  rate: float = 0.02
  num_eval: int = 512

  def __post_init__(self):
    if self.batch_size < 1:
      raise ConfigurationError(f'batch_size={self.batch_size} must be at least 1.')
    events.motif_offsets(self.num_classes, self.motif_channels, self.max_offset)  # validates

  def _make(self, key, batch):
    return events.delay_motif_batch(
      key,
      batch,
      self.num_channels,
      self.num_steps,
      self.num_classes,
      self.motif_channels,
      self.max_offset,
      self.rate,
    )

  def init_inputs(self):
    return jnp.zeros((2, self.num_steps, self.num_channels))
