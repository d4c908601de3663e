"""The quadratic_networks README's sweeps: each (config, sweep file) pair validates, and with --vmap_trials the
first row's seeds share one program (the trials differ there only in SEED)."""

import pytest

from launch.gin_args import repo_root
from tests.foundation.helpers import check_readme_sweep

ROOT = repo_root()
Q = 'configs/quadratic_networks'
# (config, sweep file, the seeds of one row)
CASES = [
  (f'{Q}/expressivity_rings.gin', f'{Q}/sweeps/expressivity.py', list(range(5))),
  (f'{Q}/trainability_conventional.gin', f'{Q}/sweeps/trainability.py', list(range(10))),
  (f'{Q}/trainability_naive.gin', f'{Q}/sweeps/trainability.py', list(range(10))),
  (f'{Q}/trainability_relinear.gin', f'{Q}/sweeps/relinear.py', list(range(10))),
  (f'{Q}/trainability_relinear.gin', f'{Q}/sweeps/shrinkage.py', list(range(10))),
]


@pytest.mark.parametrize('config,path,seeds', CASES, ids=[f'{c}+{p.rpartition("/")[2]}' for c, p, _ in CASES])
def test_readme_sweeps_validate_and_vmap_seeds(config, path, seeds, monkeypatch):
  monkeypatch.chdir(ROOT)
  check_readme_sweep(config, path, seeds)
