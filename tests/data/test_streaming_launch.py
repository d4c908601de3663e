"""A streaming config run as a user runs it (`launch` subprocesses), on the cifar10 stand-in (conftest.paper_data_dir:
scikit-learn's digits as 32x32x3 PNGs, 128 training images, so 16 steps of 8 per epoch):
  - killed (SIGKILL) mid-epoch between two checkpoints and launched again, it ends bitwise equal to an
    uninterrupted run; the killed run and its resume read through a grain worker process, the reference in-process
    (the batches do not depend on how they are read);
  - 2 processes (launch.multiprocess, one CPU device each) each read half of every global batch: their per-step train
    losses equal the 1-process run's, which they can only if the two halves are disjoint and together the global batch.
The config is configs/kan_attention/paper_cifar10_vit_tiny_karat.gin with the ViT shrunk to one small block (its
data part, the streamed CIFAR-10 with crop and flip, as it is).
"""

import io
import json
import os
import re
import signal
import subprocess
import sys
import tempfile

import jax
import numpy as np
import pytest

from common.train.checkpoint import read_state
from launch import multiprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARGS = [
  '--gin_file=configs/kan_attention/paper_cifar10_vit_tiny_karat.gin',
  '--gin_file=configs/base/cpu_debug.gin',
  '--gin.vit.ViT.depth=1',
  '--gin.vit.ViT.dim=16',
  '--gin.vit.ViT.num_heads=2',
  '--gin.vit.ViT.mlp_ratio=2',
  '--gin.NUM_STEPS=6',
  '--gin.CHECKPOINT_EVERY=2',
  '--gin.EVAL_EVERY=6',
]


def _env(data_dir, **extra):
  env = {**os.environ, 'JAX_PLATFORMS': 'cpu', 'TFDS_DATA_DIR': data_dir, **extra}
  env.pop('XLA_FLAGS', None)
  return env


def _launch(args, workdir, env):
  """Runs launch to its end; output through files, not pipes, and the process group killed after it.

  A SIGKILLed launcher leaves its grain worker processes orphaned: they hold any pipe the launcher had open (so
  waiting for the pipes' EOF would hang) until their group is killed, as a job scheduler does with a dead job's."""
  with tempfile.TemporaryFile('w+') as out, tempfile.TemporaryFile('w+') as err:
    proc = subprocess.Popen(
      [sys.executable, '-m', 'launch', *args, f'--workdir={workdir}'],
      cwd=ROOT, env=env, stdout=out, stderr=err, text=True, start_new_session=True,
    )  # fmt: skip
    try:
      proc.wait(timeout=600)
    finally:
      try:
        os.killpg(proc.pid, signal.SIGKILL)
      except ProcessLookupError:
        pass
    out.seek(0), err.seek(0)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out.read(), err.read())


def _train_rows(workdir):
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    rows = [json.loads(line) for line in f]
  return [r for r in rows if r['split'] == 'train']


@pytest.fixture(scope='module')
def reference(paper_data_dir, tmp_path_factory):
  workdir = tmp_path_factory.mktemp('streaming') / 'ref'
  done = _launch(ARGS, workdir, _env(paper_data_dir))
  assert done.returncode == 0, done.stderr[-3000:]
  return workdir


def test_killed_mid_epoch_resumes_bitwise_through_launch(reference, paper_data_dir, tmp_path):
  args = [*ARGS, '--gin.DATA_WORKERS=1']
  killed = tmp_path / 'killed'
  # SIGKILL at step 5 (of 16 in the epoch): the checkpoint of step 2 has landed, the one of step 4 may be in flight.
  first = _launch(args, killed, _env(paper_data_dir, BRAINNETS_FAULT='kill@5'))
  assert first.returncode == -9, (first.returncode, first.stderr[-2000:])
  resumed = _launch(args, killed, _env(paper_data_dir))
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  found = re.search(r'Resumed from \S+/(\d+)', resumed.stdout)
  assert found and int(found.group(1)) in (2, 4), resumed.stdout[-2000:]
  a, b = read_state(str(reference)), read_state(str(killed))
  assert jax.tree_util.tree_structure(a) == jax.tree_util.tree_structure(b)
  for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
  ref_losses = {r['step']: r['loss'] for r in _train_rows(reference)}
  assert {r['step']: r['loss'] for r in _train_rows(killed)} == ref_losses  # the steps after it: the same batches


def test_two_processes_read_disjoint_halves_of_every_global_batch(reference, paper_data_dir, tmp_path):
  out = io.StringIO()
  workdir = tmp_path / 'two'
  status = multiprocess.run(2, [*ARGS, f'--workdir={workdir}'], env=_env(paper_data_dir), out=out)
  assert status == 0, out.getvalue()[-3000:]
  one, two = _train_rows(reference), _train_rows(workdir)
  assert [r['step'] for r in two] == [r['step'] for r in one] == list(range(1, 7))
  for r1, r2 in zip(one, two):
    assert r2['loss'] == pytest.approx(r1['loss'], rel=1e-5), (r1, r2)
