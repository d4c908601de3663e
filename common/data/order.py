"""Which records make up each batch, as a pure function of (seed, position), the same for any number of processes.

Training stream: the GLOBAL batch of step s holds positions [s*B, (s+1)*B) of the stream. Epoch e of the stream is
a permutation of the N records that depends only on (seed, e); an epoch has N // B steps, and the N % B records a
permutation leaves over are dropped (as the in-memory path, pipeline.batch_at_step, drops them). Process p of P
reads only its slice [s*B + p*B/P, s*B + (p+1)*B/P) of the global batch: together the P processes read each
global batch exactly once, and the global batches do not depend on P (nor on worker counts or prefetching).

Eval stream: records in file order, in global batches of E with the last one padded; process p reads its slice
[i*E + p*E/P, i*E + (p+1)*E/P) of eval batch i, and padding positions (>= N) carry weight 0.

Randomness of one example (augmentation): a generator seeded by (seed, epoch, record index), so it does not depend
on where or in which process the example is read.

Generators are numpy's default (PCG64 from a SeedSequence); their streams are fixed for the pinned numpy version.
The order differs from the in-memory path's (jax.random there); both are pure functions of (seed, step).
"""

import numpy as np

from common.train.errors import ConfigurationError

# Stream ids mixed into every SeedSequence, so the order and the augmentation never share random numbers.
_ORDER_STREAM, _EXAMPLE_STREAM = 0, 1


def check_process(process_index: int, process_count: int, batch_size: int, *, parameter: str) -> int:
  """The per-process batch size B / P, or a ConfigurationError naming `parameter` when P does not divide B."""
  if process_count < 1 or not 0 <= process_index < process_count:
    raise ValueError(f'process_index={process_index} must lie in [0, process_count={process_count}).')
  if batch_size % process_count:
    raise ConfigurationError(
      f'{parameter}={batch_size} is not divisible by the {process_count} processes of this run; choose a multiple '
      f'of {process_count}.'
    )
  return batch_size // process_count


def example_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
  """The random generator of record `index` in epoch `epoch` (augmentation): a pure function of its arguments."""
  return np.random.default_rng([_EXAMPLE_STREAM, seed, epoch, index])


class TrainOrder:
  """Record indices of every training batch: global batches and per-process slices of them.

  Args:
    num_records: N, the size of the training split.
    batch_size: B, the global batch size (1 <= B <= N).
    seed: a non-negative integer; the order of epoch e is a pure function of (seed, e).
  """

  def __init__(self, num_records: int, batch_size: int, seed: int):
    if not 1 <= batch_size <= num_records:
      raise ConfigurationError(
        f'batch_size={batch_size} must be between 1 and the {num_records} training examples; lower batch_size.'
      )
    if seed < 0:
      raise ConfigurationError(f'seed={seed} must be a non-negative integer.')
    self.num_records, self.batch_size, self.seed = num_records, batch_size, seed
    self._permutations: dict[int, np.ndarray] = {}

  @property
  def steps_per_epoch(self) -> int:
    return self.num_records // self.batch_size

  def epoch_permutation(self, epoch: int) -> np.ndarray:
    """(N,) int64: the order of the training records in `epoch` (cached for the two latest epochs)."""
    if epoch not in self._permutations:
      if len(self._permutations) >= 2:
        self._permutations.pop(min(self._permutations))
      rng = np.random.default_rng([_ORDER_STREAM, self.seed, epoch])
      self._permutations[epoch] = rng.permutation(self.num_records)
    return self._permutations[epoch]

  def epoch_of(self, step: int) -> int:
    return step // self.steps_per_epoch

  def global_batch(self, step: int) -> np.ndarray:
    """(B,) record indices of the global batch of `step`."""
    return self.process_batch(step, 0, 1)

  def process_batch(self, step: int, process_index: int, process_count: int) -> np.ndarray:
    """(B/P,) record indices that process `process_index` of `process_count` reads at `step`."""
    local = check_process(process_index, process_count, self.batch_size, parameter='batch_size')
    epoch, within = divmod(step, self.steps_per_epoch)
    start = within * self.batch_size + process_index * local
    return self.epoch_permutation(epoch)[start : start + local]

  def __getstate__(self):  # pickled into grain worker processes: the cache is rebuilt there
    return {**self.__dict__, '_permutations': {}}


class EvalOrder:
  """Record indices of the eval batches: file order, fixed-size global batches, the last one padded.

  Args:
    num_records: N, the size of the eval split.
    batch_size: E, the global eval batch size; lowered to N rounded up to a multiple of `process_count` when N is
      smaller (as pipeline.eval_batches does), so small splits are not padded out to a large E.
    process_count: P, which must divide the (lowered) E.
  """

  def __init__(self, num_records: int, batch_size: int, process_count: int = 1):
    if batch_size < 1:
      raise ConfigurationError(f'eval_batch_size={batch_size} must be at least 1.')
    self.num_records = num_records
    self.batch_size = min(batch_size, -(-num_records // process_count) * process_count)
    self.process_count = process_count
    check_process(0, process_count, self.batch_size, parameter='eval_batch_size')

  def __len__(self) -> int:
    return -(-self.num_records // self.batch_size)

  def process_batch(self, i: int, process_index: int) -> tuple[np.ndarray, np.ndarray]:
    """(record indices (E/P,), weight (E/P,) float32) of eval batch `i` for `process_index`; padding has weight 0
    and index 0 (a valid record, so readers need no special case)."""
    local = self.batch_size // self.process_count
    positions = i * self.batch_size + process_index * local + np.arange(local)
    valid = positions < self.num_records
    return np.where(valid, positions, 0), valid.astype(np.float32)
