"""projects/emergent_timescales/analysis.py on hand-made run directories (the checkpoint measures stubbed)."""

import json
import os

from launch import config_model as cm
from launch import report
from projects.emergent_timescales import analysis


def _run(root, path, bindings: dict, final: dict):
  workdir = os.path.join(root, path)
  os.makedirs(os.path.join(workdir, 'config'))
  resolved = {k: {'value': cm.to_json(v), 'gin': cm.to_gin(v), 'set_at': 'test'} for k, v in bindings.items()}
  with open(os.path.join(workdir, 'config', 'resolved.json'), 'w') as f:
    json.dump({'files': [], 'bindings': resolved}, f)
  with open(os.path.join(workdir, 'final_metrics.json'), 'w') as f:
    json.dump(final, f)


def _final(learned: list[float], taus: list[float], accs: list[float]) -> dict:
  out = {'ns_learned': float(sum(s >= 0 for s in learned)), 'accuracy': 0.9, 'loss': 0.1}
  for n, s, t, a in zip((2, 3, 4), learned, taus, accs):
    out.update({f'learned_at_n{n}': s, f'tau_at_n{n}': t, f'accuracy_n{n}': a})
  return out


def test_tables_and_verdicts(tmp_path, monkeypatch):
  # single: learns N=2, 3 slowly (steps 400-600) with tau rising 1.5 -> 3, forgets N=2 (0.5);
  # multi: learns N=2, 3, 4 fast (steps 100-300) with tau flat at 1.5, keeps N=2 (1.0).
  for seed in range(3):
    _run(tmp_path, f'single/seed_{seed}', {'KIND': 'single', 'SEED': seed},
         _final([400 + seed, 600 + seed, -1], [1.5, 3.0 + 0.1 * seed, -1], [0.5, 0.99, 0.6]))  # fmt: skip
    _run(tmp_path, f'multi/seed_{seed}', {'KIND': 'multi', 'SEED': seed},
         _final([100 + seed, 200 + seed, 300], [1.5, 1.5 + 0.01 * seed, 1.5], [1.0, 0.99, 0.99]))  # fmt: skip
  kept = {'single': 0.2, 'multi': 0.8}

  def measure(run):
    return {
      'n_eval': 3,
      'intact': 0.99,
      'tau_net': 2.0,
      'perturb_1.0': kept[run.values['KIND']] + 0.01 * run.values['SEED'],
    }

  monkeypatch.setattr(analysis, 'measure_run', measure)
  built = report.build(report.find_runs(str(tmp_path)), group_by=['KIND'])
  text = analysis.curricula(built, str(tmp_path))
  assert '## N-parity, LeakyRNN' in text
  assert '| multi | 3 ± 0 (n=3) | 101.0 ± 1.0 (n=3) | 201.0 ± 1.0 (n=3) | 300 ± 0 (n=3) |' in text
  assert '| single | 2 ± 0 (n=3) | 401.0 ± 1.0 (n=3) | 601.0 ± 1.0 (n=3) | - |' in text
  # seed-paired gaps: single - multi steps at N=3 is 400 for every seed; single's tau rise 1.5 + 0.1 * seed
  assert (
    '| multi-head learns N=3 sooner (single - multi steps; N=3: the largest N every run learned) | +400.000' in text
  )
  assert '| single-head tau rises from N=2 to N=3 | +1.600 ± 0.058 (n=3) | above: holds |' in text
  assert '| multi-head tau rises from N=2 to N=3 | +0.010 ± 0.006 (n=3) | not distinguishable' in text
  assert (
    '| multi-head keeps earlier N above single-head (mean final accuracy on the earlier learned N) | +0.495' in text
  )
  assert '| multi-head more robust: perturb_1.0 | +0.600 ± 0.000 (n=3) | above: holds |' in text
  assert '| multi-head tau_net above single-head | +0.000 ± 0.000 (n=3) | not distinguishable' in text
  assert '| multi-head more robust: ablate_long_16 | - | not measured |' in text
  assert 'Single-head mean final accuracy on its earlier learned N: 0.5 ± 0 (n=3)' in text
  assert os.path.isfile(os.path.join(tmp_path, 'curricula.png'))
