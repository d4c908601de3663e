"""The s_kan and kan_fitting READMEs' sweeps: each (config, sweep file) pair validates, and with --vmap_trials the
first row's seeds share one program (the trials differ there only in SEED)."""

import pytest

from launch.gin_args import repo_root
from tests.foundation.helpers import check_readme_sweep

ROOT = repo_root()
S = 'configs/s_kan'
K = 'configs/kan_fitting'
SEEDS5 = list(range(5))
# (config, sweep file, the seeds of one row)
CASES = [
  (f'{S}/fitting_skan.gin', f'{S}/sweeps/tasks.py', SEEDS5),
  (f'{S}/fitting_mlp.gin', f'{S}/sweeps/tasks.py', SEEDS5),
  (f'{S}/fitting_kan.gin', f'{S}/sweeps/tasks_bases.py', SEEDS5),
  (f'{S}/skan_digits.gin', f'{S}/sweeps/seeds.py', SEEDS5),
  (f'{S}/digits_mlp.gin', f'{S}/sweeps/seeds.py', SEEDS5),
  (f'{S}/digits_kan.gin', f'{S}/sweeps/bases.py', SEEDS5),
  (f'{K}/grid_extension.gin', f'{K}/sweeps/formulas.py', SEEDS5),
  (f'{K}/mlp.gin', f'{K}/sweeps/mlp_widths.py', SEEDS5),
]


@pytest.mark.parametrize('config,path,seeds', CASES, ids=[f'{c}+{p.rpartition("/")[2]}' for c, p, _ in CASES])
def test_readme_sweeps_validate_and_vmap_seeds(config, path, seeds, monkeypatch):
  monkeypatch.chdir(ROOT)
  check_readme_sweep(config, path, seeds)
