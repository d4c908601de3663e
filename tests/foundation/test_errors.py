"""Bad input: status 2, a message that names the file, line and fix, no traceback, no half-made workdir."""

import os

import jax
import numpy as np
import pytest

from tests.foundation.helpers import launch, launch_popen


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


# --- issue 16: one rule for errors, one run per workdir, failed saves (the cases that need a process boundary) ---


def crash_entry(*, workdir: str, dry_run: bool = False) -> dict:
  """An entry point whose dry run builds fine and whose run fails: an exception after the run started."""
  if dry_run:
    return {}
  raise RuntimeError('boom after the start')


def _crash_config(tmp_path) -> str:
  path = tmp_path / 'crash.gin'
  path.write_text(
    'from __gin__ import dynamic_registration\nfrom tests.foundation import test_errors\n'
    'ENTRY_POINT = @test_errors.crash_entry\n'
  )
  return str(path)


def _launch_in_process(args, capfd) -> tuple[int, str]:
  import gin

  from launch import main

  capfd.readouterr()
  try:
    main.run(['launch', *args])
    status = 0
  except SystemExit as e:
    status = e.code
  finally:
    gin.clear_config(clear_constants=True)
  out, err = capfd.readouterr()
  return status, out + err


def test_exception_after_start_is_one_line_exit_1_and_error_txt(tmp_path, capfd):
  w = tmp_path / 'w'
  status, output = _launch_in_process([f'--gin_file={_crash_config(tmp_path)}', f'--workdir={w}'], capfd)
  assert status == 1, output
  assert 'Traceback' not in output
  summary = [line for line in output.splitlines() if line.startswith('launch: run failed')]
  assert len(summary) == 1 and 'RuntimeError: boom after the start' in summary[0], output
  assert str(w / 'error.txt') in summary[0] and '--traceback prints it' in summary[0]
  recorded = (w / 'error.txt').read_text()
  assert 'Traceback' in recorded and 'boom after the start' in recorded
  assert (w / 'config' / 'resolved.json').exists()  # the run had started: its record stays beside error.txt
  assert not (w / '.launch.lock').exists()  # released and removed at exit

  status, output = _launch_in_process(
    [f'--gin_file={_crash_config(tmp_path)}', f'--workdir={tmp_path / "w2"}', '--traceback'], capfd
  )
  assert status == 1 and 'Traceback' in output and 'boom after the start' in output


def late_config_error_entry(*, workdir: str, dry_run: bool = False) -> dict:
  """An entry point whose dry run passes but whose run finds a bad value (what a loop checks only when it runs)."""
  from common.train.errors import ConfigurationError

  if dry_run:
    return {}
  raise ConfigurationError('late_config_error_entry.value=3 is refused once the run starts; use 2.')


def test_configuration_error_after_the_start_undoes_the_start(tmp_path, capfd):
  config = tmp_path / 'late.gin'
  config.write_text(
    'from __gin__ import dynamic_registration\nfrom tests.foundation import test_errors\n'
    'ENTRY_POINT = @test_errors.late_config_error_entry\n'
  )
  fresh = tmp_path / 'fresh' / 'w'  # created by this start (with its parent): removed again
  status, output = _launch_in_process([f'--gin_file={config}', f'--workdir={fresh}'], capfd)
  assert status == 2 and 'late_config_error_entry.value=3' in output and 'Traceback' not in output, output
  assert not (tmp_path / 'fresh').exists()

  existing = tmp_path / 'existing'  # held a file before: keeps exactly that file
  existing.mkdir()
  (existing / 'notes.txt').write_text('mine\n')
  status, output = _launch_in_process([f'--gin_file={config}', f'--workdir={existing}'], capfd)
  assert status == 2, output
  assert sorted(os.listdir(existing)) == ['notes.txt'] and (existing / 'notes.txt').read_text() == 'mine\n'


def test_second_launch_on_a_live_workdir_names_the_first_and_a_killed_run_leaves_no_stale_lock(tmp_path, capfd):
  import signal
  import time

  from launch import workdir_lock

  w = tmp_path / 'w'
  first = launch_popen('--gin_file=configs/baselines/digits_mlp.gin', '--gin.NUM_STEPS=100000', f'--workdir={w}')
  try:
    deadline = time.time() + 240
    while not workdir_lock.holder(str(w / '.launch.lock')) and time.time() < deadline:
      assert first.poll() is None, first.stdout.read()
      time.sleep(0.2)
    status, output = _launch_in_process(['--gin_file=configs/baselines/digits_mlp.gin', f'--workdir={w}'], capfd)
    assert status == 2, output
    assert 'Traceback' not in output
    assert f'pid {first.pid}' in output and 'in use by a live run' in output and 'NUM_STEPS=100000' in output
  finally:
    first.send_signal(signal.SIGKILL)
    first.wait()
  assert (w / '.launch.lock').exists()  # SIGKILL left the file, but not the lock: the kernel dropped it
  workdir_lock.probe(str(w))
  workdir_lock.acquire(str(w), ['pytest']).release()


def test_failed_checkpoint_save_stops_with_one_line_and_keeps_the_previous_checkpoint(tmp_path):
  """A real write failure: the resumed run's checkpoint files exceed RLIMIT_FSIZE (EFBIG, as ENOSPC would fail).

  The limit works for any user, root included (chmod does not stop root), and needs no mount.
  """
  import subprocess
  import sys

  from launch import api
  from tests.foundation.helpers import ROOT

  w = tmp_path / 'w'
  base = ['configs/baselines/digits_mlp.gin', 'configs/base/cpu_debug.gin']
  api.execute(base, ['NUM_STEPS = 2', 'CHECKPOINT_EVERY = 1'], workdir=str(w))
  assert sorted(os.listdir(w / 'checkpoints')) == ['1', '2']

  # The child sets the limit on itself (preexec_fn would fork this multithreaded process), ignoring SIGXFSZ so
  # that a write past the limit fails with EFBIG instead of killing the process.
  limited = (
    'import resource, runpy, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); '
    'resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024)); '
    "sys.argv = ['launch', *sys.argv[1:]]; runpy.run_module('launch', run_name='__main__')"
  )
  args = [f'--gin_file={f}' for f in base]
  args += ['--gin.NUM_STEPS=4', '--gin.CHECKPOINT_EVERY=1', '--allow_config_change', f'--workdir={w}']
  r = subprocess.run([sys.executable, '-c', limited, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert r.returncode == 1, r.stderr[-3000:]
  assert 'Traceback' not in r.stderr
  summary = [line for line in r.stderr.splitlines() if line.startswith('launch: run failed')]
  assert len(summary) == 1, r.stderr[-3000:]
  assert 'CheckpointSaveError' in summary[0] and str(w / 'checkpoints') in summary[0], summary
  assert 'step 2, is intact' in summary[0], summary
  # The operating system's reason is in the summary when tensorstore reports its errno (most writes; a failing
  # metadata write reports only the file), and the whole cause is in error.txt either way.
  assert 'cause: ' in (w / 'error.txt').read_text()
  steps = sorted(n for n in os.listdir(w / 'checkpoints') if n.isdigit())
  assert steps[-1] == '2', steps  # the failed save never became a step directory, and step 2 was not deleted
  from common.train.checkpoint import read_state

  state = read_state(str(w))  # the latest complete checkpoint is step 2, and it reads back whole
  assert int(state['step']) == 2
  assert all(np.all(np.isfinite(x)) for x in jax.tree_util.tree_leaves(state['params']))


ENTRY_POINT_CONFIGS = sorted(
  {
    # one experiment per ENTRY_POINT used in configs/ (a new entry point adds its first config here)
    'configs/baselines/digits_mlp.gin',
    'configs/active_dendrites/ad_kwinners_10.gin',
    'configs/adaptive_reservoir/mackey_glass.gin',
    'configs/ctm_digits/ctm_digits.gin',
    'configs/hlop/ewc.gin',
    'configs/kan_fitting/grid_extension.gin',
    'configs/need_is_all_you_need/concept_shift.gin',
    'configs/s_kan/skan_digits.gin',
    'configs/sdr_theory/quick.gin',
    'configs/synaptic_delays/motif_dcls.gin',
  }
)


def test_every_entry_points_dry_run_writes_nothing(tmp_path):
  """Validation by building calls each entry point with dry_run=True before the workdir exists: it must write
  nothing (not in its workdir, not in the current directory)."""
  import contextlib
  import io

  import gin

  from launch import api, gin_setup

  seen = set()
  for config in ENTRY_POINT_CONFIGS:
    prepared = api.prepare([config, 'configs/base/cpu_debug.gin'], [])
    seen.add(prepared.entry_name)
    entry = gin_setup.parse(prepared.gin_files, prepared.bindings, prepared.search_paths)
    w = tmp_path / prepared.entry_name
    w.mkdir()
    cwd_before = set(os.listdir('.'))
    with contextlib.redirect_stdout(io.StringIO()):
      entry(workdir=str(w), dry_run=True)
    assert not os.listdir(w), (config, os.listdir(w))
    assert set(os.listdir('.')) == cwd_before, config
  gin.clear_config(clear_constants=True)
  assert len(seen) == len(ENTRY_POINT_CONFIGS)  # each config stands for a different entry point
