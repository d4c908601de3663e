"""The adaptive_reservoir and need_is_all_you_need READMEs' sweeps: each (config, sweep file) pair validates, and
with --vmap_trials the first row's seeds share one program (the trials differ there only in SEED)."""

import pytest

from launch.gin_args import repo_root
from tests.foundation.helpers import check_readme_sweep

ROOT = repo_root()
A = 'configs/adaptive_reservoir'
N = 'configs/need_is_all_you_need'
# (config, sweep file, the seeds of one row)
CASES = [
  (f'{A}/memory_capacity.gin', f'{A}/sweeps/ei_balance.py', list(range(5))),
  (f'{A}/mackey_glass.gin', f'{A}/sweeps/ei_balance.py', list(range(5))),
  (f'{A}/narma10.gin', f'{A}/sweeps/ei_balance.py', list(range(5))),
  (f'{N}/concept_shift.gin', f'{N}/sweeps/concept_shift.py', list(range(5))),
]


@pytest.mark.parametrize('config,path,seeds', CASES, ids=[f'{c}+{p.rpartition("/")[2]}' for c, p, _ in CASES])
def test_readme_sweeps_validate_and_vmap_seeds(config, path, seeds, monkeypatch):
  monkeypatch.chdir(ROOT)
  check_readme_sweep(config, path, seeds)
