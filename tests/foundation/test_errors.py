"""Bad input: status 2, a message that names the file, line and fix, no traceback, no half-made workdir."""

import jax
import numpy as np
import pytest

from tests.foundation.helpers import launch


def _expect_usage_error(result, *needles, workdir=None):
  assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
  assert 'Traceback' not in result.stderr
  for needle in needles:
    assert needle in result.stderr, result.stderr[-2000:]
  if workdir is not None:
    assert not workdir.exists()


def test_missing_gin_file_lists_paths_searched(tmp_path):
  r = launch('--gin_file=configs/baselines/nope.gin', f'--workdir={tmp_path / "w"}')
  _expect_usage_error(r, 'not found', 'Searched', 'configs/baselines/nope.gin', workdir=tmp_path / 'w')


def test_unknown_parameter_names_file_line_and_suggests(tmp_path):
  bad = tmp_path / 'bad.gin'
  bad.write_text(
    'from __gin__ import dynamic_registration\nfrom common.models import mlp\n'
    "include 'configs/baselines/digits_mlp.gin'\nmlp.MLP.hiden = (3,)\n"
  )
  r = launch(f'--gin_file={bad}', f'--workdir={tmp_path / "w"}')
  _expect_usage_error(r, f'{bad}:4', "'hiden'", "Did you mean 'hidden'", 'Valid parameters', workdir=tmp_path / 'w')


def test_unknown_configurable_suggests(tmp_path):
  r = launch('--gin_file=configs/baselines/digits_mlp.gin', '--gin.mlp.MLPP.hidden=(3,)', f'--workdir={tmp_path / "w"}')
  _expect_usage_error(r, "'MLPP'", "Did you mean 'MLP'", workdir=tmp_path / 'w')


def test_required_value_unset_names_the_file_to_edit(tmp_path):
  bad = tmp_path / 'noseed.gin'
  bad.write_text("from __gin__ import dynamic_registration\ninclude 'configs/base/trainer.gin'\n")
  r = launch(f'--gin_file={bad}', f'--workdir={tmp_path / "w"}')
  _expect_usage_error(r, 'SEED', 'REQUIRED', 'configs/base/trainer.gin', workdir=tmp_path / 'w')


def test_workdir_with_other_config_is_refused(tmp_path):
  from launch import api

  w = tmp_path / 'w'
  api.execute(['configs/baselines/digits_mlp.gin', 'configs/base/cpu_debug.gin'], workdir=str(w))
  r = launch(
    '--gin_file=configs/baselines/digits_mlp.gin',
    '--gin_file=configs/base/cpu_debug.gin',
    '--gin.LEARNING_RATE=0.5',
    f'--workdir={w}',
  )
  _expect_usage_error(r, 'LEARNING_RATE', '0.001 -> 0.5', '--allow_config_change')


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
  import functools

  from common.data.synthetic import function_fitting
  from common.models import mlp
  from common.train import loop, optim, tasks
  from common.train.errors import TrainingDiverged

  task = tasks.RegressionTask(data=function_fitting.make_dataset('xy', num_train=64, num_eval=16), batch_size=16)
  with pytest.raises(TrainingDiverged, match='non-finite') as info:
    loop.train(
      model=mlp.MLP(hidden=(8,), out=1),
      task=task,
      optimizer=functools.partial(optim.create_optimizer, name='sgd', learning_rate=1e6),
      num_steps=50,
      seed=0,
      workdir=str(tmp_path),
      log_every=1,
      checkpoint_every=1,
    )
  assert 'last good checkpoint is step' in str(info.value)
  from common.train.checkpoint import read_state

  params = read_state(str(tmp_path))['params']
  assert all(np.all(np.isfinite(x)) for x in jax.tree_util.tree_leaves(params))


def test_bad_value_found_at_build_time_leaves_no_workdir(tmp_path):
  r = launch(
    '--gin_file=configs/baselines/digits_mlp.gin', '--gin.create_optimizer.name="adamx"', f'--workdir={tmp_path / "w"}'
  )
  _expect_usage_error(r, "name='adamx'", 'choose one of', workdir=tmp_path / 'w')
