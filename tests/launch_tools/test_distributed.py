"""Several processes and several devices: the same run as one process on one device (to float tolerance), a
config that differs on one process is caught, and a coordinator that never answers is a clear exit 2.

The reference run is in-process; the 2-process run (launch.multiprocess, gloo), the 4-device run and the two
failure cases are subprocesses started together to keep the wall time down.
"""

import io
import json
import os
import subprocess
import sys
import threading

import jax
import numpy as np
import pytest

from launch import api, distributed, multiprocess
from launch.gin_args import repo_root

ROOT = repo_root()
TINY = 'tests/launch_tools/data/tiny_fit.gin'
STEPS = 12


def _params(workdir):
  from common.train.checkpoint import read_state

  return read_state(str(workdir), STEPS)['params']


def _final(workdir):
  with open(os.path.join(workdir, 'final_metrics.json')) as f:
    return json.load(f)


def _in_thread(fn, *args, **kwargs):
  result = {}
  thread = threading.Thread(target=lambda: result.setdefault('value', fn(*args, **kwargs)))
  thread.start()
  return thread, result


def test_processes_and_devices_match_one_process(tmp_path, monkeypatch):
  monkeypatch.chdir(ROOT)
  env = {'JAX_PLATFORMS': 'cpu'}
  launch = [sys.executable, '-m', 'launch', f'--gin_file={TINY}', '--platform=cpu']
  # Started together: 2 processes; 1 process with 4 devices; a config mismatch; a coordinator that never answers.
  two_out, bad_out = io.StringIO(), io.StringIO()
  two = _in_thread(multiprocess.run, 2, [f'--gin_file={TINY}', f'--workdir={tmp_path / "two"}'], env=env, out=two_out)
  bad = _in_thread(
    multiprocess.run,
    2,
    [f'--gin_file={TINY}', f'--workdir={tmp_path / "bad"}'],
    env=env,
    extra={1: ['--gin.NUM_STEPS=13']},
    out=bad_out,
  )
  four = subprocess.Popen(
    [*launch, f'--workdir={tmp_path / "four"}'],
    env={**os.environ, **env, 'XLA_FLAGS': '--xla_force_host_platform_device_count=4'},
    stdout=subprocess.PIPE,
    stderr=subprocess.STDOUT,
    text=True,
  )
  lonely = subprocess.Popen(
    [*launch, f'--workdir={tmp_path / "lonely"}', f'--coordinator_address=localhost:{multiprocess.free_port()}']
    + ['--num_processes=2', '--process_id=1', '--distributed_timeout=3'],
    env={**os.environ, **env},
    stdout=subprocess.PIPE,
    stderr=subprocess.STDOUT,
    text=True,
  )
  # The reference: one process, this one.
  one = api.execute([TINY], workdir=str(tmp_path / 'one'))

  lonely_out = lonely.communicate(timeout=300)[0]
  assert lonely.returncode == 2, lonely_out
  assert 'coordinator at localhost' in lonely_out and 'did not answer within 3 s' in lonely_out
  assert 'Traceback' not in lonely_out

  for thread, _ in (two, bad):
    thread.join(timeout=300)
  assert two[1]['value'] == 0, two_out.getvalue()[-3000:]
  assert bad[1]['value'] == 2, bad_out.getvalue()[-3000:]
  assert 'resolved different configs' in bad_out.getvalue() and '<- differs' in bad_out.getvalue()
  assert not os.path.exists(tmp_path / 'bad' / 'config'), 'nothing may be written when processes disagree'

  four_out = four.communicate(timeout=300)[0]
  assert four.returncode == 0, four_out[-3000:]
  assert 'on cpu (4 devices)' in four_out

  reference = _params(tmp_path / 'one')
  for name in ('two', 'four'):
    final = _final(tmp_path / name)
    for metric in ('loss', 'rmse'):
      assert final[metric] == pytest.approx(one[metric], rel=1e-5, abs=1e-6), (name, metric)
    got = _params(tmp_path / name)
    for a, b in zip(jax.tree_util.tree_leaves(reference), jax.tree_util.tree_leaves(got)):
      np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=name)
  assert '(2 devices)' in two_out.getvalue()
  # Process 0 alone wrote the run's record.
  assert os.path.exists(tmp_path / 'two' / 'config' / 'resolved.json')


def test_settings_and_hash():
  s = distributed.settings(num_processes=2, process_id=None, coordinator_address='h:1')
  with pytest.raises(distributed.UsageError, match='--process_id'):
    distributed.initialize(s)
  with pytest.raises(distributed.UsageError, match='HOST:PORT'):
    distributed.initialize(distributed.settings(num_processes=2, process_id=1, coordinator_address='nohost'))
  a = {'bindings': {'X': {'value': 1, 'set_at': 'a.gin:1'}}}
  b = {'bindings': {'X': {'value': 1, 'set_at': 'command line'}}}
  c = {'bindings': {'X': {'value': 2, 'set_at': 'a.gin:1'}}}
  assert distributed.config_hash(a) == distributed.config_hash(b) != distributed.config_hash(c)
  assert distributed.agree_on_config(a) == distributed.config_hash(a)  # one process: nothing to compare
