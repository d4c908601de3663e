"""N-parity / N-DMS in the loop's task interface, one read-out head per N (batches generated inside the step).

The model is any sequence model whose output is (B, 2 * num_heads) (e.g. SequenceModel(core, out=2 * num_heads,
readout='last')): head h is the pair of logits [2h, 2h + 1]. Head i answers N = ns[i]; heads past len(ns) exist (a
curriculum allocates them up front) but are not trained or scored. A single-head curriculum keeps one head and
changes its N; a multi-head curriculum adds a head per new N.

Loss: the sum over active heads of the mean cross-entropy (the authors' objective). Metrics: loss, accuracy (mean
over heads), accuracy_n<N> per N, and accuracy_last (the largest N, the curriculum's criterion).
"""

import dataclasses
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from common.data.synthetic import memory_tasks
from common.train import tasks
from common.train.errors import ConfigurationError


class StreamedMemoryBatches:
  """The data side shared by MemoryTask and the curriculum's task: streams of every N in `ns` generated inside the
  step from (key, step), and fixed eval batches from `eval_key`. Needs the attributes task, ns, variable_length,
  batch_size, eval_batch_size and num_eval."""

  eval_key = 24680

  def _batch(self, key, batch):
    b = memory_tasks.memory_batch(key, self.task, self.ns, batch, self.variable_length)
    return {'inputs': b['inputs'], 'targets': b['targets']}

  def train_arrays(self):
    return {}

  def train_batch(self, arrays, key, step):
    return self._batch(jax.random.fold_in(key, step), self.batch_size)

  def eval_batches(self):
    size = min(self.eval_batch_size, self.num_eval)
    make = jax.jit(self._batch, static_argnums=1)
    out = []
    for i in range(0, self.num_eval, size):
      b = {k: np.asarray(v) for k, v in jax.device_get(make(jax.random.PRNGKey(self.eval_key + i), size)).items()}
      b['weight'] = np.ones((size,), np.float32)
      out.append(b)
    return out


@dataclasses.dataclass
class MemoryTask(StreamedMemoryBatches):
  """N-parity or N-DMS with one head per N.

  Attributes:
    task: 'parity' or 'dms'.
    ns: the N of each active head, in head order (e.g. (2, 3, ..., 10) multi-head, (10,) single-head).
    num_heads: heads in the model's output (>= len(ns)); None means len(ns).
    batch_size: training streams per step.
    variable_length: draw the stream length per batch (the paper) instead of always the longest.
    num_eval, eval_batch_size: the fixed evaluation set (generated once from a fixed key).
  """

  task: str = 'parity'
  ns: Sequence[int] = (2,)
  num_heads: int | None = None
  batch_size: int = 256
  variable_length: bool = True
  num_eval: int = 1024
  eval_batch_size: int = 512

  def __post_init__(self):
    self.ns = memory_tasks.check_ns(self.ns, param='MemoryTask.ns')
    if self.task not in memory_tasks.TASKS:
      raise ConfigurationError(f'MemoryTask.task={self.task!r} is unknown; choose one of {memory_tasks.TASKS}.')
    if self.num_heads is not None and self.num_heads < len(self.ns):
      raise ConfigurationError(
        f'MemoryTask.num_heads={self.num_heads} is fewer than the {len(self.ns)} active N values {self.ns}; '
        'give the model at least one head per N.'
      )
    if self.batch_size < 1:
      raise ConfigurationError(f'MemoryTask.batch_size={self.batch_size} must be at least 1.')

  @property
  def heads(self) -> int:
    return self.num_heads or len(self.ns)

  @property
  def length(self) -> int:
    return memory_tasks.sequence_length(self.ns)

  def init_inputs(self):
    return jnp.zeros((2, self.length, 1), jnp.float32)

  def head_logits(self, outputs: jax.Array) -> jax.Array:
    """(B, 2 * num_heads) -> (B, len(ns), 2): the active heads."""
    if outputs.shape[-1] != 2 * self.heads:
      raise ConfigurationError(
        f'the model outputs {outputs.shape[-1]} logits; MemoryTask with {self.heads} heads needs 2 * {self.heads}.'
      )
    return outputs.reshape(outputs.shape[0], self.heads, 2)[:, : len(self.ns)]

  def loss(self, outputs, batch):
    logits, labels = self.head_logits(outputs), batch['targets']
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, labels)  # (B, heads)
    correct = (jnp.argmax(logits, -1) == labels).astype(jnp.float32)
    per_head_ce = [tasks.weighted_mean(ce[:, i], batch) for i in range(len(self.ns))]
    per_head_acc = [tasks.weighted_mean(correct[:, i], batch) for i in range(len(self.ns))]
    loss = sum(per_head_ce)
    metrics = {'loss': loss, 'accuracy': sum(per_head_acc) / len(self.ns), 'accuracy_last': per_head_acc[-1]}
    metrics.update({f'accuracy_n{n}': a for n, a in zip(self.ns, per_head_acc)})
    return loss, metrics
