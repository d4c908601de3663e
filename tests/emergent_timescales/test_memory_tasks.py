"""N-parity / N-DMS generators (labels, determinism, lengths), the multi-head task and the curricula."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common.data.synthetic import memory_tasks
from common.dendritic import LeakyRNN, SequenceModel
from common.train.errors import ConfigurationError
from projects.emergent_timescales.curriculum import Curriculum
from projects.emergent_timescales.tasks import MemoryTask

KEY = jax.random.PRNGKey(3)


@pytest.mark.parametrize('task', ['parity', 'dms'])
def test_labels_match_a_direct_count(task):
  ns = (2, 5, 7)
  b = memory_tasks.memory_batch(KEY, task, ns, 64)
  bits, y = np.asarray(b['inputs'][..., 0]), np.asarray(b['targets'])
  assert bits.shape == (64, memory_tasks.sequence_length(ns)) and y.shape == (64, 3)
  for i, n in enumerate(ns):
    want = bits[:, -n:].sum(1) % 2 if task == 'parity' else (bits[:, -n] == bits[:, -1])
    np.testing.assert_array_equal(y[:, i], want.astype(np.int32))
  assert 0.3 < y.mean() < 0.7  # both classes occur


def test_deterministic_variable_length_and_leading_zeros():
  a = memory_tasks.memory_batch(KEY, 'parity', (4,), 8)
  b = memory_tasks.memory_batch(KEY, 'parity', (4,), 8)
  np.testing.assert_array_equal(a['inputs'], b['inputs'])
  lengths = {int(memory_tasks.memory_batch(jax.random.PRNGKey(i), 'dms', (4,), 4)['length']) for i in range(40)}
  assert min(lengths) >= 6 and max(lengths) <= 17 and len(lengths) > 5  # M ~ U{N + 2, ..., 4N + 1}
  m = int(a['length'])
  assert np.all(np.asarray(a['inputs'])[:, : 17 - m] == 0)


def test_parity_streams_are_unbalanced_and_dms_streams_balanced():
  par = np.asarray(memory_tasks.bit_streams(KEY, 'parity', 400, 200)).mean(1)
  dms = np.asarray(memory_tasks.bit_streams(KEY, 'dms', 400, 200)).mean(1)
  assert par.std() > 0.2 and dms.std() < 0.06  # p ~ U(0, 1) per parity stream, 1/2 for DMS
  with pytest.raises(ConfigurationError, match='task'):
    memory_tasks.bit_streams(KEY, 'copy', 2, 3)


def test_memory_task_loss_sums_heads_and_reports_each_n():
  task = MemoryTask(task='parity', ns=(2, 3), num_heads=4, batch_size=16, num_eval=32, eval_batch_size=16)
  model = SequenceModel(core=LeakyRNN(hidden=8), out=8)
  v = model.init(KEY, task.init_inputs())
  batch = task.train_batch({}, KEY, 0)
  loss, metrics = task.loss(model.apply(v, batch['inputs']), batch)
  assert set(metrics) >= {'accuracy', 'accuracy_last', 'accuracy_n2', 'accuracy_n3'}
  assert float(loss) > 1.0  # two heads of about log 2 each
  assert len(task.eval_batches()) == 2
  with pytest.raises(ConfigurationError, match='num_heads'):
    MemoryTask(ns=(2, 3, 4), num_heads=2)
  with pytest.raises(ConfigurationError, match='2 \\* 4'):
    task.loss(jnp.zeros((16, 6)), batch)


def test_curricula_advance_only_when_learned():
  multi, single = Curriculum('multi'), Curriculum('single')
  assert multi.step((2, 3), [0.99, 0.985]) == ((2, 3, 4), True)
  assert multi.step((2, 3), [0.999, 0.97]) == ((2, 3), False)  # the largest N is not learned yet
  assert multi.step((2, 3), [0.95, 0.99]) == ((2, 3), False)  # forgot an earlier N: mean below threshold
  assert single.step((5,), [0.99]) == ((6,), True)
  assert multi.heads_needed(10) == 9 and single.heads_needed(10) == 1
  with pytest.raises(ConfigurationError, match='kind'):
    Curriculum('sliding')
