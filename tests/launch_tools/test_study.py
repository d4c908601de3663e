"""Optuna studies: workers sharing one SQLite storage run every trial once, a killed worker's trial is retried and
resumes from its checkpoint, a clearly worse trial is pruned, a 2-process trial agrees on its parameters, and a bad
search space is an exit-2 error. Trials are tiny_fit runs (an MLP fitting x*y, seconds each)."""

import glob
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from launch import report, study
from launch import trials as trials_lib
from launch.errors import UsageError
from launch.gin_args import repo_root

ROOT = repo_root()
TINY = 'tests/launch_tools/data/tiny_fit.gin'
SEARCH = 'tests/launch_tools/data/sweeps/search.py'


def _worker(root, name, *extra, heartbeat=30):
  cmd = [sys.executable, '-m', 'launch', f'--gin_file={TINY}', f'--sweep={SEARCH}', f'--study={name}']
  cmd += [f'--workdir={root}', f'--study_heartbeat={heartbeat}', '--platform=cpu', *extra]
  env = {**os.environ, 'PYTHONUNBUFFERED': '1'}
  return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def _load(root, name):
  import optuna

  return optuna.load_study(study_name=name, storage=f'sqlite:///{root}/study.db')


def test_two_workers_share_one_storage_and_run_each_trial_once(tmp_path):
  workers = [_worker(tmp_path, 'two', '--num_trials=4', '--sampler=random') for _ in range(2)]
  outputs = [w.communicate(timeout=600)[0] for w in workers]
  assert [w.returncode for w in workers] == [0, 0], outputs
  trials = _load(tmp_path, 'two').get_trials()
  assert len(trials) == 4 and {t.state.name for t in trials} <= {'COMPLETE', 'PRUNED'}  # the pruner may stop some
  ids = [t.user_attrs['id'] for t in trials]
  assert len(set(ids)) == 4
  for t in trials:  # each trial ran once, in its own run directory, to the end Optuna recorded
    record = trials_lib.read(trials_lib.workdir(tmp_path, t.user_attrs['id']))
    assert record['attempts'] == [t.number]
    if t.state.name == 'COMPLETE':
      assert record['status'] == 'done' and record['final']['loss'] == pytest.approx(t.value)
    else:
      assert record['status'] == 'pruned'
  ran = [int(o.split('this worker ran ')[1].split()[0]) for o in outputs]
  assert sum(ran) == 4 and min(ran) >= 1, ran  # both workers took part
  # Every trial is an ordinary run directory: `launch report` tabulates the study.
  rep = report.build(report.find_runs(str(tmp_path)))
  assert rep.keys == ['LEARNING_RATE'] and sum(len(g.runs) for g in rep.groups) + len(rep.others) == 4
  assert {r.status for r in rep.others} <= {'pruned'}


def _first_checkpoint(root) -> str | None:
  done = [p for p in glob.glob(os.path.join(root, 't*', 'checkpoints', '*')) if os.path.basename(p).isdigit()]
  return done[0] if done else None


def test_a_killed_workers_trial_fails_and_another_worker_resumes_it(tmp_path):
  long_trial = ['--gin.NUM_STEPS=3000', '--gin.LOG_EVERY=50', '--gin.CHECKPOINT_EVERY=50', '--gin.EVAL_EVERY=1000']
  first = _worker(tmp_path, 'kill', '--num_trials=1', *long_trial, heartbeat=1)
  deadline = time.time() + 300
  while _first_checkpoint(tmp_path) is None and first.poll() is None and time.time() < deadline:
    time.sleep(0.1)
  assert first.poll() is None, first.communicate()[0]  # still training: the kill lands mid-trial
  os.kill(first.pid, signal.SIGKILL)
  first.communicate()
  trial_dir = os.path.dirname(os.path.dirname(_first_checkpoint(tmp_path)))
  assert trials_lib.read(trial_dir)['status'] == 'running'  # the dead worker could not record anything
  second = _worker(tmp_path, 'kill', '--num_trials=1', *long_trial, heartbeat=1)
  out = second.communicate(timeout=600)[0]
  assert second.returncode == 0, out
  dead, retry = _load(tmp_path, 'kill').get_trials()
  assert (dead.state.name, retry.state.name) == ('FAIL', 'COMPLETE')  # failed by the heartbeat, then retried
  assert retry.system_attrs['failed_trial'] == 0 and retry.params == dead.params
  assert retry.user_attrs['id'] == dead.user_attrs['id'] == os.path.basename(trial_dir)
  assert 'Resumed from' in out  # the retry continued from the dead trial's checkpoint in the same directory
  record = trials_lib.read(trial_dir)
  assert record['attempts'] == [0, 1] and record['status'] == 'done'


def test_a_clearly_worse_trial_is_pruned(tmp_path, monkeypatch):
  monkeypatch.chdir(ROOT)
  opts = study.Options(
    sweep=SEARCH, gin_files=[TINY], bindings=[], search_paths=[ROOT], workdir=str(tmp_path), study='prune', num_trials=3
  )
  spec = study.load_search(SEARCH)
  optuna_study = study.open_study(opts, spec)
  for lr in (0.03, 0.02, 0.001):  # two good learning rates finish first; 12 steps at 1e-3 barely move the loss
    optuna_study.enqueue_trial({'LEARNING_RATE': lr})
  assert study.main(opts) == 0
  states = [t.state.name for t in _load(tmp_path, 'prune').get_trials()]
  assert states == ['COMPLETE', 'COMPLETE', 'PRUNED']
  runs = {r.status: r for r in report.find_runs(str(tmp_path))}
  pruned = runs['pruned']
  assert pruned.detail.startswith('pruned at step 6: eval loss=')  # the first evaluation, worse than the median
  assert not os.path.exists(os.path.join(pruned.workdir, 'final_metrics.json'))
  assert not os.path.exists(os.path.join(pruned.workdir, 'error.txt'))  # pruned is not a failure


def test_a_two_process_trial_agrees_on_its_parameters(tmp_path):
  args = [f'--gin_file={TINY}', f'--sweep={SEARCH}', '--study=mh', '--num_trials=1', f'--workdir={tmp_path}']
  proc = subprocess.run(
    [sys.executable, '-m', 'launch.multiprocess', '--num_processes=2', '--', *args, '--sampler=random'],
    cwd=ROOT,
    capture_output=True,
    text=True,
    timeout=600,
  )
  assert proc.returncode == 0, proc.stdout + proc.stderr
  announced = {
    line[:3]: line[4:] for line in proc.stdout.splitlines() if 'study mh trial 0 (t' in line and ' = ' in line
  }
  assert set(announced) == {'[0]', '[1]'} and announced['[0]'] == announced['[1]'], announced
  trials = _load(tmp_path, 'mh').get_trials()
  assert [t.state.name for t in trials] == ['COMPLETE']  # process 0 alone asked and told
  assert json.loads(open(os.path.join(tmp_path, trials[0].user_attrs['id'], 'trial.json')).read())['attempts'] == [0]


@pytest.mark.parametrize(
  'body,message',
  [
    ("h.search({'LEARNING_RAT': h.float(0.1, 1)}, metric='loss')", "neither a macro.*Did you mean 'LEARNING_RATE'"),
    ("h.search({'LEARNING_RATE': h.float(0, 1, log=True)}, metric='loss')", 'a log scale needs low > 0'),
    ("h.search({'LEARNING_RATE': h.float(0.1, 1)}, metric='loss', direction='up')", "'minimize' or 'maximize'"),
  ],
)
def test_bad_search_spaces(tmp_path, monkeypatch, body, message):
  monkeypatch.chdir(ROOT)
  path = tmp_path / 'space.py'
  path.write_text(f'def search(h):\n  return {body}\n')
  opts = study.Options(
    sweep=str(path), gin_files=[TINY], bindings=[], search_paths=[ROOT], workdir=str(tmp_path), study='x', num_trials=1
  )
  with pytest.raises(UsageError, match=message):
    study.main(opts)
  assert not os.path.exists(tmp_path / 'study.db')  # nothing created before the space is valid


def test_categorical_choices_that_are_not_plain_values():
  import optuna

  from launch import hyper

  spec = hyper.search({'mlp.MLP.hidden': hyper.categorical([(8,), (16, 16)]), 'X': hyper.int(1, 3)}, metric='loss')
  trial = optuna.create_study().ask()
  values = dict(study.suggest(trial, spec))
  assert values['mlp.MLP.hidden'] in ((8,), (16, 16)) and values['X'] in (1, 2, 3)
  assert trial.params['mlp.MLP.hidden'] in ('(8,)', '(16, 16)')  # offered to Optuna as gin text
