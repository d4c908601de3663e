"""The CTM READMEs' sweeps: each (config, sweep file) pair validates, and with --vmap_trials the first row's seeds
share one program (the trials differ there only in SEED)."""

import pytest

from launch import sweep
from launch.gin_args import repo_root
from tests.foundation.helpers import check_readme_sweep

ROOT = repo_root()
P = 'configs/ctm_parity'
# (config, sweep file, the seeds of one row)
CASES = [
  ('configs/ctm_maze/ctm_maze.gin', 'configs/ctm_maze/sweeps/models.py', [0, 1, 2]),
  (f'{P}/ctm_t16.gin', f'{P}/sweeps/ticks.py', [0, 1, 2, 3, 4]),
  (f'{P}/lstm_t16.gin', f'{P}/sweeps/ticks.py', [0, 1, 2, 3, 4]),
  (f'{P}/ablation_shared_nlm.gin', f'{P}/sweeps/seeds.py', [0, 1, 2, 3, 4]),
  (f'{P}/ctm_t16.gin', f'{P}/sweeps/precision.py', [0, 1, 2, 3, 4]),
  ('configs/ctm_digits/ctm_digits.gin', 'configs/ctm_digits/sweeps/seeds.py', [0, 1, 2]),
  ('configs/ctm_sort/ctm_sort.gin', 'configs/ctm_sort/sweeps/seeds.py', [0, 1, 2, 3, 4]),
]


@pytest.mark.parametrize('config,path,seeds', CASES, ids=[f'{c}+{p.rpartition("/")[2]}' for c, p, _ in CASES])
def test_readme_sweeps_validate_and_vmap_seeds(config, path, seeds, monkeypatch):
  monkeypatch.chdir(ROOT)
  check_readme_sweep(config, path, seeds)


def test_maze_sweep_pairs_each_model_with_its_tick():
  trials = sweep.trials_of(sweep.load('configs/ctm_maze/sweeps/models.py'), 'models.py')
  pairs = {(str(dict(t.values)['MODEL']), dict(t.values)['USE_MOST_CERTAIN']) for t in trials}
  assert len(pairs) == 2 and all(('LSTM' in model) != certain for model, certain in pairs)
