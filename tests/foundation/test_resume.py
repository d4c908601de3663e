"""SIGKILL a training run, start the same command again: it resumes and ends bitwise equal to an
uninterrupted run."""

import json
import os
import signal
import time

import numpy as np

from common.train.checkpoint import read_state
from tests.foundation.helpers import launch, launch_popen

ARGS = [
  '--gin_file=configs/baselines/digits_mlp.gin',
  '--gin.NUM_STEPS=240',
  '--gin.CHECKPOINT_EVERY=40',
  '--gin.LOG_EVERY=20',
  '--gin.EVAL_EVERY=120',
  '--gin.mlp.MLP.hidden=(64,)',
]


def _final_params(workdir):
  state = read_state(workdir)
  return int(state['step']), state['params']


def _assert_trees_bitwise_equal(a, b):
  if isinstance(a, dict):
    assert a.keys() == b.keys()
    for k in a:
      _assert_trees_bitwise_equal(a[k], b[k])
  else:
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_killed_run_resumes_bitwise_identical(tmp_path):
  straight, killed = str(tmp_path / 'straight'), str(tmp_path / 'killed')
  done = launch(*ARGS, f'--workdir={straight}')
  assert done.returncode == 0, done.stderr[-3000:]

  proc = launch_popen(*ARGS, f'--workdir={killed}', start_new_session=True)
  ckpts = os.path.join(killed, 'checkpoints')
  deadline = time.time() + 120
  while time.time() < deadline and proc.poll() is None:
    steps = [d for d in os.listdir(ckpts) if d.isdigit()] if os.path.isdir(ckpts) else []
    if steps:
      break
    time.sleep(0.05)
  assert proc.poll() is None, 'the run finished before it could be killed; make it longer'
  os.killpg(proc.pid, signal.SIGKILL)
  proc.wait()
  resumed = launch(*ARGS, f'--workdir={killed}')
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  assert 'Resumed from' in resumed.stdout

  step_a, params_a = _final_params(straight)
  step_b, params_b = _final_params(killed)
  assert step_a == step_b == 240
  _assert_trees_bitwise_equal(params_a, params_b)
  # The metrics log has no duplicated steps after the resume.
  rows = [json.loads(line) for line in open(os.path.join(killed, 'metrics.jsonl'))]
  train_steps = [r['step'] for r in rows if r['split'] == 'train']
  assert train_steps == sorted(set(train_steps))
