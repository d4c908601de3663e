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
  assert '| multi | LeakyRNN | 3 ± 0 (n=3) | 101 ± 1 (n=3) | 201 ± 1 (n=3) | 300 ± 0 (n=3) |' in text
  assert '| single | LeakyRNN | 2 ± 0 (n=3) | 401 ± 1 (n=3) | 601 ± 1 (n=3) | - |' in text
  assert '- steps to learn N=3 (largest N every run learned; lower is faster): multi lower than single by 400' in text
  assert '- single: tau(N=3) - tau(N=2) = 1.6 ± 0.1 (n=3)' in text
  assert '- single: final accuracy on earlier learned N (forgetting) = 0.5 ± 0 (n=3)' in text
  assert '- perturb_1.0: multi higher than single by 0.6' in text
  assert '- tau_net: not resolved' in text
  assert os.path.isfile(os.path.join(tmp_path, 'curricula.png'))
