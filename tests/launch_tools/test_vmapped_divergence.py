"""Vmapped sweeps beyond the happy path: trials that diverge fail alone while the rest of their program finishes,
and a learning rate x seed product (seeds repeated across trials) runs as programs whose seeds are distinct."""

import json

import pytest

from launch import api, report, sweep
from launch.gin_args import repo_root

ROOT = repo_root()
TINY = 'tests/launch_tools/data/tiny_fit.gin'


def _run(tmp_path, text: str) -> tuple[int, list]:
  path = tmp_path / 'sweep.py'
  path.write_text(text)
  opts = sweep.Options(
    sweep=str(path), gin_files=[TINY], bindings=['NUM_STEPS = 6'], search_paths=[ROOT], workdir=str(tmp_path / 'r'),
    vmap=True,
  )  # fmt: skip
  return sweep.main(opts), sweep.trials_of(sweep.load(str(path)), str(path))


def _record(tmp_path, t) -> dict:
  return json.loads((tmp_path / 'r' / t.id / 'trial.json').read_text())


def _matches_plain_run(tmp_path, t) -> None:
  plain = api.execute([TINY], ['NUM_STEPS = 6', *t.bindings], workdir=str(tmp_path / 'plain' / t.id))
  assert _record(tmp_path, t)['final']['loss'] == pytest.approx(plain['loss'], rel=1e-4, abs=1e-6), t.id


def test_diverging_members_fail_alone_and_the_rest_finish(tmp_path, monkeypatch):
  monkeypatch.chdir(ROOT)
  # Numbers only and distinct seeds: one program of four; a learning rate of 1e30 overflows at the first update.
  status, trials = _run(
    tmp_path,
    'def sweep(h):\n'
    "  return h.zip([h.sweep('LEARNING_RATE', [1e-3, 1e30, 3e-3, 1e30]), h.sweep('SEED', [0, 1, 2, 3])])\n",
  )
  assert status == 1  # some trials failed
  for t in trials:
    record = _record(tmp_path, t)
    if dict(t.values)['LEARNING_RATE'] == 1e30:
      assert record['status'] == 'failed' and 'TrainingDiverged: non-finite values' in record['error']
      assert not (tmp_path / 'r' / t.id / 'final_metrics.json').exists()
    else:
      assert record['status'] == 'done' and record['vmapped']
  _matches_plain_run(tmp_path, trials[2])  # resumed without the diverged members, still its own run's result
  built = report.build(report.find_runs(str(tmp_path / 'r')))
  assert sorted(r.status for r in built.others) == ['failed', 'failed']
  assert sum(len(g.runs) for g in built.groups) == 2


def test_repeated_seeds_split_into_programs_with_distinct_seeds(tmp_path, monkeypatch, capsys):
  monkeypatch.chdir(ROOT)
  status, trials = _run(
    tmp_path, "def sweep(h):\n  return h.product([h.sweep('LEARNING_RATE', [1e-3, 3e-3]), h.sweep('SEED', [0, 1])])\n"
  )
  assert status == 0
  assert 'sweep: 4 trials as 2 vmapped program(s)' in capsys.readouterr().out
  assert all(_record(tmp_path, t)['status'] == 'done' for t in trials)
  _matches_plain_run(tmp_path, trials[3])
