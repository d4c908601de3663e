"""projects/astro_lsm/analysis.py on hand-made run directories."""

import json
import os

from launch import config_model as cm
from launch import report
from projects.astro_lsm import analysis


def _run(root, path, bindings: dict, final: dict, evals: list[dict]):
  workdir = os.path.join(root, path)
  os.makedirs(os.path.join(workdir, 'config'))
  resolved = {k: {'value': cm.to_json(v), 'gin': cm.to_gin(v), 'set_at': 'test'} for k, v in bindings.items()}
  with open(os.path.join(workdir, 'config', 'resolved.json'), 'w') as f:
    json.dump({'files': [], 'bindings': resolved}, f)
  with open(os.path.join(workdir, 'final_metrics.json'), 'w') as f:
    json.dump(final, f)
  with open(os.path.join(workdir, 'metrics.jsonl'), 'w') as f:
    for row in evals:
      f.write(json.dumps({'split': 'eval', **row}) + '\n')


def test_table_and_verdicts(tmp_path):
  # NALSM: accuracy 0.9, sigma 1.0; LSM+STDP 0.8, sigma 1.3; LSM 0.8 (not resolved against LSM+STDP), sigma 1.3.
  for mode, acc, sigma in (('astro', 0.9, 1.0), ('stdp', 0.8, 1.3), ('none', 0.8, 1.3)):
    for seed in range(3):
      a, s = acc + 0.01 * seed, sigma + 0.01 * seed
      final = {'accuracy': a, 'branching_factor': s, 'reservoir_rate': 0.1 + 0.01 * seed, 'loss': 1.0}
      _run(tmp_path, f'{mode}/seed_{seed}', {'PLASTICITY_MODE': mode, 'SEED': seed}, final,
           [{'step': 50, 'branching_factor': s + 0.1}, {'step': 100, 'branching_factor': s}])  # fmt: skip
  built = report.build(report.find_runs(str(tmp_path)), group_by=['PLASTICITY_MODE'])
  text = analysis.comparison(built, str(tmp_path))
  assert '| NALSM | 3 | 0.91 ± 0.01 | 1.11 ± 0.01 | 1.01 ± 0.01 | 0.11 ± 0.01 |' in text
  assert '| (2) accuracy NALSM above LSM+STDP | NALSM - LSM+STDP | +0.1000 ± 0.0000 (n=3) | above: holds |' in text
  assert '| (2) accuracy LSM+STDP above LSM | LSM+STDP - LSM | +0.0000 ± 0.0000 (n=3) | not distinguishable' in text
  near = '| (1) NALSM nearer sigma = 1 than LSM | abs(sigma - 1): LSM - NALSM | +0.3000 ± 0.0000 (n=3) | above: holds |'
  assert near in text
  assert os.path.isfile(os.path.join(tmp_path, 'branching.png'))
