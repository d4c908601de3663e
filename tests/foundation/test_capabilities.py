"""The capability matrix: every entry point that configs/ uses keeps the run engine's promises.

For one representative config per ENTRY_POINT, shrunk by configs/base/cpu_debug.gin (plus a few bindings so there
are checkpoints to resume from), each launched as a user would (`launch`, a subprocess):
  (a) multi-host: 2 local processes (launch.multiprocess, gloo) end with the final metrics of 1 process;
  (b) resume: SIGKILL at a step between checkpoints, relaunch, and the final state is bitwise the uninterrupted one;
  (c) NaN stop: a non-finite loss at a step exits with status 3, no traceback, and the checkpoints before it intact;
  (d) artifacts: the workdir holds config/, metrics.jsonl, tensorboard/, checkpoints/ and final_metrics.json.
The kill and the NaN are injected by the engine (BRAINNETS_FAULT=kill@N / nan@N, common/train/engine.py): the
kill is a real SIGKILL of the process at that step, possibly with an async save in flight.

An ENTRY_POINT found in configs/ but missing from MATRIX fails test_every_entry_point_is_in_the_matrix, and
WORKSPACE.md shows the same matrix as a table (test_workspace_table_matches).
"""

import io
import json
import math
import os
import pathlib
import re
import subprocess
import sys

import jax
import numpy as np
import pytest

from common.train.checkpoint import read_state
from launch import config_model as cm
from launch import multiprocess, validate

ROOT = pathlib.Path(__file__).resolve().parents[2]
CPU_DEBUG = 'configs/base/cpu_debug.gin'


# entry point -> (gin files before cpu_debug.gin, bindings after it, kill step, NaN step)
MATRIX = {
  'common.train.loop.train': (
    ['configs/baselines/digits_mlp.gin'],
    ['NUM_STEPS=6', 'CHECKPOINT_EVERY=2'],
    3,
    5,
  ),
  'common.continual.trainer.train': (
    ['configs/hlop/finetune.gin'],
    ['NUM_STEPS=3', 'CHECKPOINT_EVERY=2'],
    3,
    5,
  ),
  'common.kan.phases.train_grid_extension': (
    ['configs/kan_fitting/grid_extension.gin'],
    ['CHECKPOINT_EVERY=2'],
    4,
    5,
  ),
  'common.kan.skan.train_skan': (
    ['configs/s_kan/skan_digits.gin'],
    ['NUM_STEPS=6', 'skan.train_skan.checkpoint_every=2'],
    3,
    5,
  ),
  'common.homeostatic.online.train': (
    ['configs/need_is_all_you_need/concept_shift.gin'],
    ['NUM_STEPS=290'],  # epochs of 143 batches: checkpoints at 143, 286, 290
    200,
    200,
  ),
  'projects.active_dendrites.experiment.run': (
    ['configs/active_dendrites/ad_kwinners_10.gin'],
    ['NUM_TASKS=3', 'NUM_STEPS=2', 'experiment.run.checkpoint_every_tasks=1'],
    4,
    4,
  ),
  'projects.adaptive_reservoir.experiment.run': (
    ['configs/adaptive_reservoir/narma10.gin'],
    ["ADAPTATION='homogeneous'"],
    1,
    1,
  ),
  'projects.ctm_digits.experiment.run': (
    ['configs/ctm_digits/ctm_digits.gin'],
    ['NUM_STEPS=4', 'CHECKPOINT_EVERY=2'],
    3,
    3,
  ),
  'projects.ctm_maze.experiment.run': (
    ['configs/ctm_maze/ctm_maze.gin'],
    [
      'NUM_STEPS=4',
      'CHECKPOINT_EVERY=2',
      'NUM_TRAIN=32',
      'EVAL_EXAMPLES=8',
      'ITERATIONS=2',
      'experiment.run.eval_sizes=(13,)',
      'experiment.run.max_applications=2',
    ],
    3,
    3,
  ),
  'projects.nhl_tta.experiment.run': (
    ['configs/nhl_tta/online.gin'],
    [],  # 3 source steps, then 12 domains of 11 online batches (checkpoints at 3, 14, 25, ...)
    30,
    30,
  ),
  'projects.sdr_theory.experiment.run': (
    ['configs/sdr_theory/quick.gin'],
    ['NUM_STEPS=4'],
    3,
    3,
  ),
  'projects.synaptic_delays.experiment.run': (
    ['configs/synaptic_delays/motif_none.gin'],
    ['NUM_STEPS=4', 'CHECKPOINT_EVERY=2'],
    3,
    3,
  ),
}
TIMINGS = ('compile_seconds', 'first_step_unix_time')
# Metrics that count argmax decisions over near-ties (the most certain CTM tick, when adaptive halting stops): a
# reduction summed in another order across 2 devices may flip a few examples, so they are compared to 5%.
TIE_SENSITIVE = ('tick', 'halt')


def entry_points_in_configs() -> dict[str, str]:
  """{entry point: first config using it} over every experiment gin file under configs/."""
  found = {}
  for path in sorted((ROOT / 'configs').rglob('*.gin')):
    if path.parent.name == 'base':
      continue
    rel = str(path.relative_to(ROOT))
    model = cm.load([rel], [], [str(ROOT)])
    resolved = model.resolved()
    if 'ENTRY_POINT' not in resolved:
      continue
    value = validate._follow_macros(resolved['ENTRY_POINT'].value, resolved)
    name = cm.import_object(value.name)
    full = f'{name.__module__}.{name.__name__}' if name is not None else value.name
    found.setdefault(full, rel)
  return found


def test_every_entry_point_is_in_the_matrix():
  missing = {e: cfg for e, cfg in entry_points_in_configs().items() if e not in MATRIX}
  assert not missing, f'entry points without a capability row (add them to MATRIX and WORKSPACE.md): {missing}'


def test_workspace_table_matches():
  text = (ROOT / 'WORKSPACE.md').read_text()
  table = text[text.index('## Capability matrix') :]
  rows = {m.group(1) for m in re.finditer(r'^\| `([\w.]+)` \|', table, re.M)}
  assert rows == set(MATRIX), f'WORKSPACE.md capability table rows differ: {sorted(rows ^ set(MATRIX))}'


def _launch(args, workdir, env=None, timeout=600) -> subprocess.CompletedProcess:
  env = {**os.environ, 'JAX_PLATFORMS': 'cpu', **(env or {})}
  env.pop('XLA_FLAGS', None)
  return subprocess.run(
    [sys.executable, '-m', 'launch', *args, f'--workdir={workdir}'],
    cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
  )  # fmt: skip


def _args(entry: str) -> list[str]:
  files, bindings, _, _ = MATRIX[entry]
  return [*(f'--gin_file={f}' for f in [*files, CPU_DEBUG]), *(f'--gin.{b}' for b in bindings)]


def _final(workdir) -> dict:
  with open(os.path.join(workdir, 'final_metrics.json')) as f:
    return json.load(f)


def _numbers(final: dict) -> dict:
  return {
    k: v for k, v in final.items() if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in TIMINGS
  }


def _assert_bitwise(a, b, what):
  la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
  assert jax.tree_util.tree_structure(a) == jax.tree_util.tree_structure(b), what
  for x, y in zip(la, lb):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=what)


@pytest.mark.parametrize('entry', sorted(MATRIX))
def test_capabilities(entry, tmp_path):
  args = _args(entry)
  kill_step, nan_step = MATRIX[entry][2], MATRIX[entry][3]

  # (d) One uninterrupted process: the reference, and every artifact in its workdir.
  ref = tmp_path / 'ref'
  done = _launch(args, ref)
  assert done.returncode == 0, done.stderr[-3000:]
  for name in ('config', 'metrics.jsonl', 'tensorboard', 'checkpoints', 'final_metrics.json'):
    assert (ref / name).exists(), f'{entry}: {name} missing from the workdir'
  reference = _final(ref)

  # (a) Two processes (one CPU device each, a 2-device mesh over both): the same final metrics.
  out = io.StringIO()
  status = multiprocess.run(2, [*args, f'--workdir={tmp_path / "two"}'], env={'JAX_PLATFORMS': 'cpu'}, out=out)
  assert status == 0, out.getvalue()[-3000:]
  two = _final(tmp_path / 'two')
  for k, v in _numbers(reference).items():
    if isinstance(v, float) and math.isnan(v):
      assert math.isnan(two[k]), (entry, k)
    elif any(word in k for word in TIE_SENSITIVE):
      assert two[k] == pytest.approx(v, rel=0.05, abs=0.05), (entry, k)
    else:
      assert two[k] == pytest.approx(v, rel=1e-4, abs=1e-5), (entry, k)

  # (b) SIGKILL at a step between checkpoints, then the same command again: bitwise the reference's final state.
  killed = tmp_path / 'killed'
  first = _launch(args, killed, env={'BRAINNETS_FAULT': f'kill@{kill_step}'})
  assert first.returncode == -9, (first.returncode, first.stderr[-2000:])
  resumed = _launch(args, killed)
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  _assert_bitwise(read_state(str(ref)), read_state(str(killed)), f'{entry}: resumed state differs')
  assert _numbers(_final(killed)) == pytest.approx(_numbers(reference), nan_ok=True)
  rows = [json.loads(line) for line in open(killed / 'metrics.jsonl')]
  train_steps = [r['step'] for r in rows if r['split'] == 'train']
  assert train_steps == sorted(set(train_steps)), f'{entry}: duplicated metric rows after the resume'

  # (c) A non-finite loss: exit 3 naming the step, no traceback, every checkpoint before it restorable and finite.
  bad = tmp_path / 'nan'
  diverged = _launch(args, bad, env={'BRAINNETS_FAULT': f'nan@{nan_step}'})
  assert diverged.returncode == 3, diverged.stderr[-3000:]
  found = re.search(r'non-finite values at step (\d+)', diverged.stderr)
  # The first check at or after the step (a loop checks at its host boundaries: an epoch, a task, a log row).
  assert found and int(found.group(1)) >= nan_step and 'Traceback' not in diverged.stderr, diverged.stderr[-2000:]
  stopped = int(found.group(1))
  ckpts = bad / 'checkpoints'
  steps = sorted(int(d) for d in os.listdir(ckpts) if d.isdigit()) if ckpts.is_dir() else []
  assert all(s < stopped for s in steps), (entry, steps)
  if steps:
    state = read_state(str(bad), steps[-1])
    assert all(
      np.all(np.isfinite(np.asarray(x))) for x in jax.tree_util.tree_leaves(state) if np.asarray(x).dtype.kind == 'f'
    )
    assert 'last good checkpoint is step' in diverged.stderr
