"""Issue #7's bad-input section: each case fails at configuration time, naming the parameter, before any
training or any file in the workdir."""

import functools
import types

import pytest

from common.continual import binary, learners, projection, regularizers, rehearsal, streams, trainer
from common.models.mlp import MLP
from common.train import optim
from common.train.errors import ConfigurationError


def _train(stream, learner, workdir, **kw):
  args = dict(
    model=MLP(hidden=(16,), out=4),
    stream=stream,
    learner=learner,
    optimizer=functools.partial(optim.create_optimizer, name='sgd', learning_rate=0.1),
    steps_per_task=2,
    seed=0,
    workdir=str(workdir),
    batch_size=8,
  )
  return trainer.train(**{**args, **kw})


def _fails(match, fn, workdir=None):
  with pytest.raises(ConfigurationError, match=match):
    fn()
  if workdir is not None:
    assert not workdir.exists() or not any(workdir.iterdir()), 'a configuration error must not write the workdir'


@pytest.mark.parametrize('make', [streams.permuted_stream, streams.rotated_stream, streams.split_stream])
def test_stream_with_zero_tasks(toy, make, tmp_path):
  _fails(r'num_tasks=0.*at least one task', lambda: make(toy, num_tasks=0))
  empty = types.SimpleNamespace(num_tasks=0, name='empty')  # any stream object that reports no task
  _fails('train.stream has zero tasks', lambda: _train(empty, learners.Learner(), tmp_path / 'w'), tmp_path / 'w')


@pytest.mark.parametrize(
  'learner',
  [
    regularizers.EWC(),
    regularizers.SI(),
    projection.HLOP(subspace_size=2),
    projection.SVDProjection(subspace_size=2),
    rehearsal.Rehearsal(buffer_per_task=8, replay_per_step=4),
    binary.VariationalBinary(),
  ],
  ids=lambda x: type(x).__name__,
)
def test_learner_needing_boundaries_on_a_task_free_stream(toy, learner, tmp_path):
  free = streams.permuted_stream(toy, num_tasks=2, boundaries=False)
  name = type(learner).__name__
  _fails(f'learner={name} consolidates at task boundaries.*boundaries=False', lambda: _train(free, learner, tmp_path))
  assert not (tmp_path / 'checkpoints').exists()


@pytest.mark.parametrize('cls', [projection.HLOP, projection.SVDProjection])
def test_subspace_larger_than_the_layer(toy, cls, tmp_path):
  stream = streams.permuted_stream(toy, num_tasks=2)  # 16 pixels -> Dense(16) -> head: 17 and 17 inputs with bias
  _fails(
    rf'{cls.__name__}.subspace_size=\(18, 4\).*layer .dense_0. with 16 inputs.*at most 17',
    lambda: _train(stream, cls(subspace_size=(18, 4)), tmp_path, dry_run=True),
    tmp_path,
  )
  _fails(
    rf'{cls.__name__}.first_task_size=40.*larger than the layer',
    lambda: _train(stream, cls(subspace_size=2, first_task_size=40), tmp_path),
    tmp_path,
  )


def test_rehearsal_budget_larger_than_the_buffer(toy, tmp_path):
  _fails(
    r'replay_per_step=50 \(the rehearsal budget per step\) is larger than the buffer \(buffer_per_task=20\)',
    lambda: rehearsal.Rehearsal(buffer_per_task=20, replay_per_step=50),
  )
  stream = streams.permuted_stream(toy, num_tasks=2)  # 24 training examples per class x 4 classes = 96 per task
  _fails(
    'buffer_per_task=500 exceeds the 96 training examples',
    lambda: _train(stream, rehearsal.Rehearsal(buffer_per_task=500, replay_per_step=4), tmp_path),
    tmp_path,
  )
