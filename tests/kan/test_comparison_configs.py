"""The KAN comparison configs vmap their seeds: members of configs/s_kan/*.gin and configs/kan_fitting/*.gin that
differ only in SEED share one program (launch/vmapped.check_members), though the phase-schedule configs also carry
trainer.gin's loop.train.seed (a dead binding there); a member that changes what gin builds is still refused."""

import pytest

from launch import api, vmapped
from launch.errors import UsageError
from launch.gin_args import repo_root

ROOT = repo_root()


def _members(config: str, member_bindings: list[list[str]]):
  return [api.prepare([config], b, [ROOT]) for b in member_bindings]


@pytest.mark.parametrize(
  'config',
  [
    'configs/s_kan/fitting_skan.gin',
    'configs/s_kan/skan_digits.gin',
    'configs/s_kan/fitting_kan.gin',
    'configs/kan_fitting/grid_extension.gin',
    'configs/kan_attention/vit_digits.gin',
  ],
)
def test_seeds_share_one_program(config, monkeypatch):
  monkeypatch.chdir(ROOT)
  members = _members(config, [['SEED = 0'], ['SEED = 1'], ['SEED = 2']])
  assert vmapped.check_members(members, ['s0', 's1', 's2']) is False


def test_a_member_that_changes_the_data_is_refused(monkeypatch):
  monkeypatch.chdir(ROOT)
  members = _members('configs/s_kan/fitting_skan.gin', [["TASK = 'xy'"], ["TASK = 'poly_cubic'"]])
  with pytest.raises(UsageError, match=r'make_dataset.name: %TASK \(= \"xy\"\)'):
    vmapped.check_members(members, ['a', 'b'])
