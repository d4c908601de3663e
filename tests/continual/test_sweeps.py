"""The continual projects' README sweeps: each (config, sweep file) pair the READMEs run validates, and the ones run
with --vmap_trials put a row's seeds into one program (DATA_SEED fixed), while a stream seeded by SEED is refused."""

import pytest

from launch import api, sweep, vmapped
from launch.errors import UsageError
from launch.gin_args import repo_root

ROOT = repo_root()
# (config, sweep file, run with --vmap_trials)
CASES = [
  ('configs/hlop/finetune.gin', 'configs/hlop/sweeps/seeds.py', True),
  ('configs/hlop/hlop.gin', 'configs/hlop/sweeps/schedules.py', True),
  ('configs/hlop/spiking_hlop.gin', 'configs/hlop/sweeps/raw_projector.py', True),
  ('configs/hlop/si.gin', 'configs/hlop/sweeps/si_strength.py', True),
  ('configs/power_law_rehearsal/power_law_d05.gin', 'configs/power_law_rehearsal/sweeps/seeds.py', True),
  ('configs/variational_binary_cl/permuted_variational.gin', 'configs/variational_binary_cl/sweeps/seeds.py', True),
  (
    'configs/variational_binary_cl/teacher_student_variational.gin',
    'configs/variational_binary_cl/sweeps/overlaps.py',
    False,
  ),
]


def _trials(path):
  return sweep.trials_of(sweep.load(path), path)


@pytest.mark.parametrize('config,path,vmap', CASES, ids=[f'{c}+{p.rpartition("/")[2]}' for c, p, _ in CASES])
def test_readme_sweeps_validate(config, path, vmap, monkeypatch):
  monkeypatch.chdir(ROOT)
  trials = _trials(path)
  sweep.check(trials, sweep.load(path).keys, path, [config], [], [ROOT])
  if vmap:
    group = vmapped.groups(trials)[0]
    assert [dict(t.values)['SEED'] for t in group] == [0, 1, 2]
    members = [api.prepare([config], t.bindings, [ROOT]) for t in group]
    assert vmapped.check_members(members, [t.id for t in group]) is False


def test_seeds_over_their_own_streams_do_not_share_a_program(monkeypatch):
  monkeypatch.chdir(ROOT)
  members = [api.prepare(['configs/hlop/finetune.gin'], [f'SEED = {s}'], [ROOT]) for s in (0, 1)]
  with pytest.raises(UsageError, match='DATA_SEED'):
    vmapped.check_members(members, ['s0', 's1'])
