"""Vmapped trials: one program for trials that differ only in numbers, each trial equal to its own plain run."""

import contextlib
import io
import json

import pytest

from launch import api, diff, sweep, vmapped
from launch.errors import UsageError
from launch.gin_args import repo_root

ROOT = repo_root()
TINY = 'tests/launch_tools/data/tiny_fit.gin'
NUMERIC = 'tests/launch_tools/data/sweeps/numeric.py'


def _opts(tmp_path, path, **kw):
  return sweep.Options(
    sweep=path, gin_files=[TINY], bindings=['NUM_STEPS = 6'], search_paths=[ROOT], workdir=str(tmp_path), **kw
  )


def test_vmapped_trials_equal_sequential_runs(tmp_path, monkeypatch):
  monkeypatch.chdir(ROOT)
  assert sweep.main(_opts(tmp_path / 'vm', NUMERIC, vmap=True)) == 0
  trials = sweep.trials_of(sweep.load(NUMERIC), NUMERIC)
  for t in (trials[3],):  # one of the four (its seed and learning rate both differ from trial 0's) as a plain run
    plain = api.execute([TINY], ['NUM_STEPS = 6', *t.bindings], workdir=str(tmp_path / 'seq' / t.id))
    record = json.loads((tmp_path / 'vm' / t.id / 'trial.json').read_text())
    assert record['vmapped'] and record['status'] == 'done'
    for metric in ('loss', 'rmse'):
      assert record['final'][metric] == pytest.approx(plain[metric], rel=1e-4, abs=1e-6), (t.id, metric)
    # While a real checkpoint is at hand: `launch diff --shapes` says exactly whether it restores into a config.
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
      status = diff.main([str(tmp_path / 'seq' / t.id), TINY, '--b=mlp.MLP.hidden=(8,)', '--shapes', '--format=json'])
    ckpt = json.loads(out.getvalue())['checkpoint']
    assert status == 1 and 'parameter dense_0/kernel: (2, 16) float32 in A, (2, 8) float32 in B' in ckpt['problems']
  losses = [json.loads((tmp_path / 'vm' / t.id / 'trial.json').read_text())['final']['loss'] for t in trials]
  assert len(set(losses)) == 4  # the trials really differ
  assert (tmp_path / 'vm' / 'results.csv').exists()
  resolved = json.loads((tmp_path / 'vm' / trials[1].id / 'config' / 'resolved.json').read_text())['bindings']
  assert resolved['LEARNING_RATE']['value'] == 3e-3


def test_trials_differing_in_structure_run_as_separate_programs(tmp_path, monkeypatch):
  monkeypatch.chdir(ROOT)
  path = tmp_path / 'widths.py'
  path.write_text("def sweep(h):\n  return h.sweep('mlp.MLP.hidden', [(8,), (16,)])\n")
  assert sweep.main(_opts(tmp_path / 'root', str(path), vmap=True)) == 0
  trials = sweep.trials_of(sweep.load(str(path)), str(path))
  for t in trials:
    assert json.loads((tmp_path / 'root' / t.id / 'trial.json').read_text())['status'] == 'done'


def test_seeds_refused_when_gin_builds_something_from_the_seed(tmp_path, monkeypatch):
  monkeypatch.chdir(ROOT)
  with pytest.raises(UsageError, match=r'permuted_stream.seed: %DATA_SEED \(= 0\) .* vs %DATA_SEED \(= 1\)'):
    vmapped.execute_seeds(['configs/hlop/finetune.gin', 'configs/base/cpu_debug.gin'], [], [0, 1], str(tmp_path))
  assert not (tmp_path / 'seed_0').exists()


def test_vmapped_trials_compile_with_the_experiments_xla_options(tmp_path, monkeypatch):
  monkeypatch.chdir(ROOT)
  opts = _opts(tmp_path, NUMERIC, vmap=True)
  opts.bindings.append("loop.train.xla_options = {'xla_cpu_no_such_option': 1}")
  with pytest.raises(UsageError, match='xla_cpu_no_such_option'):
    sweep.main(opts)


def test_trials_differing_in_optimizer_numbers_index_one_optimizer(monkeypatch):
  """Learning-rate trials get per-member numbers (one optimizer indexed by the member id), not a switch."""
  monkeypatch.chdir(ROOT)
  trials = sweep.trials_of(sweep.load(NUMERIC), NUMERIC)
  prepared = [api.prepare([TINY], ['NUM_STEPS = 6', *t.bindings], [ROOT]) for t in trials]
  keys = vmapped.optimizer_differences(prepared, [t.id for t in trials])
  values = vmapped._optimizers(prepared, keys)
  assert [v['optimizer_numbers'] for v in values] == [{'learning_rate': lr} for lr in (1e-3, 3e-3, 1e-2, 3e-2)]


def test_create_optimizer_with_traced_numbers_equals_the_float_one():
  import jax
  import jax.numpy as jnp
  import numpy as np

  from common.train import optim

  params = {'w': jnp.linspace(-1.0, 1.0, 6).reshape(2, 3)}
  grads = {'w': jnp.linspace(0.5, -2.0, 6).reshape(2, 3)}
  for name, kw in (
    ('adamw', dict(learning_rate=3e-3, weight_decay=1e-2, b1=0.8, eps=1e-7, grad_clip_norm=0.5, end_factor=0.1)),
    ('sgd', dict(learning_rate=0.1, b1=0.9)),
  ):

    def updates(numbers, name=name):
      tx = optim.create_optimizer(10, name=name, schedule='warmup_cosine', warmup_steps=2, **numbers)
      state = tx.init(params)
      for _ in range(3):
        u, state = tx.update(grads, state, params)
      return u

    want = updates(kw)
    got = jax.jit(updates)({k: jnp.float32(v) for k, v in kw.items()})
    np.testing.assert_allclose(got['w'], want['w'], rtol=1e-6, atol=1e-9)
