import functools
import json
import shutil

import numpy as np
import pytest

from common.continual import learners, projection, streams, trainer
from common.models.mlp import MLP
from common.train import optim
from common.train.checkpoint import read_state
from common.train.errors import ConfigurationError


def _run(stream, learner, workdir, **kw):
  args = dict(
    model=MLP(hidden=(16,), out=4),
    stream=stream,
    learner=learner,
    optimizer=functools.partial(optim.create_optimizer, name='sgd', learning_rate=0.1),
    steps_per_task=4,
    seed=0,
    workdir=str(workdir),
    batch_size=8,
    log_every=2,
    checkpoint_every=2,
    keep_checkpoints=10,
  )
  args.update(kw)
  return trainer.train(**args)


def _params(workdir, step):
  return read_state(str(workdir), step)['params']


def test_stopped_run_resumes_at_task_and_step_bitwise(toy, tmp_path):
  stream = streams.permuted_stream(toy, num_tasks=2)
  hlop = lambda: projection.HLOP(subspace_size=4, hebbian_steps=20, activity_examples=32)  # noqa: E731
  full = _run(stream, hlop(), tmp_path / 'a')
  assert np.asarray(json.load(open(tmp_path / 'a' / 'accuracy_matrix.json'))['acc']).shape == (2, 2)
  assert (tmp_path / 'a' / 'accuracy_matrix.png').exists()
  # HLOP's diagnostics (raw H^T H eigenvalues of the frozen neurons) are logged with every evaluation row.
  rows = [json.loads(line) for line in open(tmp_path / 'a' / 'metrics.jsonl')]
  evals = [r for r in rows if r['split'] == 'eval']
  assert [r['dense_0/neurons'] for r in evals] == [4, 8] and all(r['head/max_eig'] > 0.5 for r in evals)
  # Simulate a run killed after step 6: inside task 1, so the restored state must carry task 0's HLOP basis and
  # accuracy row, and the run must restart in task 1 at step 6 without resetting the optimizer.
  for resume_from in (6,):
    workdir = tmp_path / f'from{resume_from}'
    shutil.copytree(tmp_path / 'a', workdir)
    for step in (2, 4, 6, 8):
      if step > resume_from:
        shutil.rmtree(workdir / 'checkpoints' / str(step))
    resumed = _run(stream, hlop(), workdir)
    assert resumed['final_accuracies'] == full['final_accuracies']
    for x, y in zip(jax_leaves(_params(tmp_path / 'a', 8)), jax_leaves(_params(workdir, 8))):
      np.testing.assert_array_equal(x, y)


def jax_leaves(tree):
  import jax

  return jax.tree_util.tree_leaves(tree)


def test_dry_run_builds_without_training(toy, tmp_path):
  out = _run(streams.split_stream(toy, num_tasks=2), learners.Joint(), tmp_path, dry_run=True)
  assert out['num_tasks'] == 2 and out['num_params'] > 0
  assert not (tmp_path / 'checkpoints').exists()


def test_bad_input_at_configuration_time(toy, tmp_path):
  stream = streams.permuted_stream(toy, num_tasks=2)
  with pytest.raises(ConfigurationError, match='subspace_size'):
    _run(stream, projection.SVDProjection(subspace_size=100), tmp_path, dry_run=True)
  with pytest.raises(ConfigurationError, match='batch_size=500'):
    _run(stream, learners.Learner(), tmp_path, batch_size=500)
  with pytest.raises(ConfigurationError, match='steps_per_task=0'):
    _run(stream, learners.Learner(), tmp_path, steps_per_task=0)
