"""The single-head and multi-head curricula as one loop.train run: the stage is traced state, not a Python loop.

Three pieces, wired by configs/emergent_timescales/curriculum.gin:

  CurriculumModel   a SequenceModel(core, out = 2 * heads, readout='last') named 'net', plus the curriculum in the
                    'curriculum' variable collection (the engine's model_state: checkpointed, resumed, vmapped):
                      n           ()  int32   the largest active N (the stage)
                      acc_sum     (S,) f32    per-N training accuracy summed over the current epoch
                      count       ()  int32   steps in the current epoch
                      learned_at  (S,) int32  the step at which N = start_n + i was learned (-1: not yet)
                      tau_at      (S,) f32    mean single-neuron tau when N was learned (-1: not yet; 0: no tau)
                    It returns {'logits': (B, 2 * heads), **curriculum} so the task's loss sees the stage.
  CurriculumTask    streams of length 4 n_max + 1 labelled for every N in start_n..n_max (S = n_max - start_n + 1
                    labels per stream); the loss sums the cross-entropy of the active heads:
                      'single'  one head, scored on N = n only (the head is reused as N grows, so it may forget)
                      'multi'   head i answers N = start_n + i; heads for start_n..n are trained
  CurriculumStep    loop.train's after_step hook: scores the updated network on the step's batch, sums the per-N
                    accuracies over an epoch of `epoch_steps` steps and, at the epoch's end, advances n when the
                    stage is learned (curriculum.Curriculum's rule: mean over active heads and the largest N both
                    above the threshold). Once n_max is learned, training goes on at n_max.

Deviations from the authors' loop (github.com/LevinaLab/rnn_timescale_public, read, not copied), stated:
- The criterion is the mean accuracy over the epoch's training batches, each scored right after its update (the
  batches are fresh streams, never seen before the update), instead of 50 fresh batches at the epoch's end: no
  extra data pass and no host round trip, at the price of an accuracy that lags the network by up to one epoch.
- The stream length is drawn from U{n_max + 2, ..., 4 n_max + 1} at every stage (the authors: from the current N's
  range), so every batch has one static shape and every N's label is defined; early stages see longer streams.
- One optimizer for the whole run, as the authors' (their SGD state is kept across stages).
Eval metrics: accuracy_n<N> for every N (single-head: the one head on every N, i.e. the forgetting of earlier N;
multi-head: head N on N), n (the stage), ns_learned, learned_at_n<N>, tau_at_n<N>.
"""

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from common.data.synthetic import memory_tasks
from common.dendritic import recurrent
from common.dendritic.leaky import clamp_timescale
from common.train import tasks
from common.train.errors import ConfigurationError
from projects.emergent_timescales.curriculum import KINDS
from projects.emergent_timescales.tasks import StreamedMemoryBatches

COLLECTION = 'curriculum'


def _check(kind: str, start_n: int, n_max: int, owner: str) -> None:
  if kind not in KINDS:
    raise ConfigurationError(f'{owner}.kind={kind!r} must be one of {KINDS}.')
  if start_n < 1 or n_max < start_n:
    raise ConfigurationError(f'{owner}: start_n={start_n}, n_max={n_max}; need 1 <= start_n <= n_max.')


def num_heads(kind: str, start_n: int, n_max: int) -> int:
  """Read-out heads the model needs: 1 (single) or one per N in start_n..n_max (multi)."""
  return 1 if kind == 'single' else n_max - start_n + 1


def active_mask(kind: str, n: jax.Array, start_n: int, num_stages: int) -> jax.Array:
  """(S,) bool: which N = start_n + i are trained at stage n ('single': only n; 'multi': start_n..n)."""
  i = jnp.arange(num_stages)
  return i == n - start_n if kind == 'single' else i <= n - start_n


def stage_learned(acc: jax.Array, n: jax.Array, kind: str, start_n: int, threshold: float) -> jax.Array:
  """Traced curriculum.Curriculum.learned: acc (S,) per-N accuracy; True when the active N's mean and the
  largest active N's accuracy are both above `threshold`."""
  active = active_mask(kind, n, start_n, acc.shape[0])
  mean = jnp.sum(jnp.where(active, acc, 0.0)) / jnp.maximum(jnp.sum(active), 1)
  return (mean > threshold) & (acc[n - start_n] > threshold)


class CurriculumModel(nn.Module):
  """(B, T, 1) -> {'logits': (B, 2 * heads), **curriculum state} (see the module docstring).

  Attributes: core (LeakyRNN, GRU, LSTM: (B, T, 1) -> (B, T, H)), kind, start_n, n_max (as the task's). The
  params tree is {'net': {'core': ..., 'head': ...}}: measures.py's functions take params['net']."""

  core: nn.Module
  kind: str = 'multi'
  start_n: int = 2
  n_max: int = 6

  def __post_init__(self):
    _check(self.kind, self.start_n, self.n_max, 'CurriculumModel')
    super().__post_init__()

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> dict:
    s = self.n_max - self.start_n + 1
    state = {
      'n': self.variable(COLLECTION, 'n', lambda: jnp.int32(self.start_n)),
      'acc_sum': self.variable(COLLECTION, 'acc_sum', lambda: jnp.zeros((s,), jnp.float32)),
      'count': self.variable(COLLECTION, 'count', lambda: jnp.int32(0)),
      'learned_at': self.variable(COLLECTION, 'learned_at', lambda: jnp.full((s,), -1, jnp.int32)),
      'tau_at': self.variable(COLLECTION, 'tau_at', lambda: jnp.full((s,), -1.0, jnp.float32)),
    }
    # A fresh copy of the core so the SequenceModel owns it (params {'net': {'core', 'head'}}).
    net = recurrent.SequenceModel(
      self.core.clone(parent=None), out=2 * num_heads(self.kind, self.start_n, self.n_max), name='net'
    )
    return {'logits': net(x, train=train), **{k: v.value for k, v in state.items()}}


@dataclasses.dataclass
class CurriculumTask(StreamedMemoryBatches):
  """N-parity / N-DMS for every N in start_n..n_max, scored per the curriculum's stage (see module docstring).

  Attributes:
    task: 'parity' or 'dms'.  kind: 'single' or 'multi'.  start_n, n_max: the first and last N (paper: 2 and
    beyond 50; sized down for CPU in the configs).  batch_size: training streams per step.  variable_length: draw
    the stream length per batch.  num_eval, eval_batch_size: the fixed evaluation set.
  """

  eval_key = 13579  # the curriculum's own fixed evaluation set (not MemoryTask's)

  task: str = 'parity'
  kind: str = 'multi'
  start_n: int = 2
  n_max: int = 6
  batch_size: int = 64
  variable_length: bool = True
  num_eval: int = 1024
  eval_batch_size: int = 512

  def __post_init__(self):
    _check(self.kind, self.start_n, self.n_max, 'CurriculumTask')
    if self.task not in memory_tasks.TASKS:
      raise ConfigurationError(f'CurriculumTask.task={self.task!r} is unknown; choose one of {memory_tasks.TASKS}.')
    if self.batch_size < 1:
      raise ConfigurationError(f'CurriculumTask.batch_size={self.batch_size} must be at least 1.')

  @property
  def ns(self) -> tuple[int, ...]:
    return tuple(range(self.start_n, self.n_max + 1))

  @property
  def heads(self) -> int:
    return num_heads(self.kind, self.start_n, self.n_max)

  def init_inputs(self):
    return jnp.zeros((2, memory_tasks.sequence_length(self.ns), 1), jnp.float32)

  def per_n(self, logits: jax.Array, targets: jax.Array) -> tuple[jax.Array, jax.Array]:
    """logits (B, 2 * heads), targets (B, S) -> cross-entropy and correctness (B, S) of the head answering each N
    (single-head: the one head against every N's label)."""
    b = logits.shape[0]
    if logits.shape[-1] != 2 * self.heads:
      raise ConfigurationError(
        f'the model outputs {logits.shape[-1]} logits; a {self.kind}-head curriculum over N = {self.start_n}..'
        f'{self.n_max} needs 2 * {self.heads}: set SequenceModel.out = {2 * self.heads}.'
      )
    lg = logits.reshape(b, self.heads, 2)
    if self.kind == 'single':
      lg = jnp.broadcast_to(lg, (b, targets.shape[1], 2))
    ce = optax.softmax_cross_entropy_with_integer_labels(lg, targets)
    return ce, (jnp.argmax(lg, -1) == targets).astype(jnp.float32)

  def loss(self, outputs, batch):
    n, s = outputs['n'], len(self.ns)
    ce, correct = self.per_n(outputs['logits'], batch['targets'])
    ce_n = jnp.stack([tasks.weighted_mean(ce[:, i], batch) for i in range(s)])
    acc_n = jnp.stack([tasks.weighted_mean(correct[:, i], batch) for i in range(s)])
    active = active_mask(self.kind, n, self.start_n, s)
    loss = jnp.sum(jnp.where(active, ce_n, 0.0))
    learned_at = outputs['learned_at']
    metrics = {
      'loss': loss,
      'accuracy': jnp.sum(jnp.where(active, acc_n, 0.0)) / jnp.sum(active),
      'accuracy_last': acc_n[n - self.start_n],
      'n': n.astype(jnp.float32),
      'ns_learned': jnp.sum(learned_at >= 0).astype(jnp.float32),
    }
    for i, nn_ in enumerate(self.ns):
      metrics[f'accuracy_n{nn_}'] = acc_n[i]
      metrics[f'learned_at_n{nn_}'] = learned_at[i].astype(jnp.float32)
      metrics[f'tau_at_n{nn_}'] = outputs['tau_at'][i]
    return loss, metrics


def mean_tau(params: dict, min_tau: float = 1.0) -> jax.Array:
  """Mean clamped single-neuron tau of a CurriculumModel's LeakyRNN core; 0 for cores without one (GRU, LSTM).

  (Finite sentinels, not NaN: the engine stops a run whose metrics turn non-finite.)"""
  core = params['net']['core']
  return jnp.mean(clamp_timescale(core['tau'], min_tau)) if 'tau' in core else jnp.float32(0.0)


@dataclasses.dataclass(eq=False)  # hashable by identity, so jax.jit can take it
class CurriculumStep:
  """loop.train's after_step: the curriculum's bookkeeping (see the module docstring).

  Attributes: model (the CurriculumModel being trained), task (its CurriculumTask), epoch_steps (steps between
  checks; the authors: 600), threshold (accuracy to advance; the authors: 0.98)."""

  model: nn.Module
  task: CurriculumTask
  epoch_steps: int = 100
  threshold: float = 0.98

  def __post_init__(self):
    if self.epoch_steps < 1:
      raise ConfigurationError(f'CurriculumStep.epoch_steps={self.epoch_steps} must be at least 1.')
    if not 0 < self.threshold <= 1:
      raise ConfigurationError(f'CurriculumStep.threshold={self.threshold} must be an accuracy in (0, 1].')
    m, t = self.model, self.task
    if (m.kind, m.start_n, m.n_max) != (t.kind, t.start_n, t.n_max):
      raise ConfigurationError(
        f'CurriculumStep: the model has (kind, start_n, n_max) = {(m.kind, m.start_n, m.n_max)} but the task has '
        f'{(t.kind, t.start_n, t.n_max)}; bind both from the same macros (KIND, START_N, N_MAX).'
      )

  def __call__(self, state: dict, batch: dict, key: jax.Array) -> dict:
    t = self.task
    cur = state['model_state'][COLLECTION]
    outputs = self.model.apply({'params': state['params'], **state['model_state']}, batch['inputs'], train=False)
    _, correct = t.per_n(outputs['logits'], batch['targets'])
    acc_sum, count = cur['acc_sum'] + jnp.mean(correct, axis=0), cur['count'] + 1
    n, i = cur['n'], cur['n'] - t.start_n
    epoch_done = count >= self.epoch_steps
    learned = epoch_done & stage_learned(acc_sum / count, n, t.kind, t.start_n, self.threshold)
    learned = learned & (cur['learned_at'][i] < 0)
    here = jnp.arange(acc_sum.shape[0]) == i
    new = {
      'n': jnp.where(learned, jnp.minimum(n + 1, t.n_max), n),
      'acc_sum': jnp.where(epoch_done, 0.0, acc_sum),
      'count': jnp.where(epoch_done, 0, count),
      'learned_at': jnp.where(learned & here, state['step'], cur['learned_at']),
      'tau_at': jnp.where(learned & here, mean_tau(state['params']), cur['tau_at']),
    }
    return {**state, 'model_state': {**state['model_state'], COLLECTION: new}}
