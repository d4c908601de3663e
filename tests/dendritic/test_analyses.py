"""The dendritic family's `launch report` analyses on hand-made runs, and the README sweeps: each (config, sweep)
pair validates and a row's seeds share one vmapped program."""

import json

import numpy as np
import pytest

from launch import report
from launch.gin_args import repo_root
from projects.active_dendrites import analysis as ad_analysis
from projects.elm_neuron import analysis as elm_analysis
from projects.sdr_theory import analysis as sdr_analysis
from projects.sdr_theory import experiment as sdr_experiment
from projects.synaptic_delays import analysis as delay_analysis
from tests.foundation.helpers import check_readme_sweep

ROOT = repo_root()


def _run(path, values, final, workdir='/nowhere'):
  return report.Run(path, workdir, {k: json.dumps(v) for k, v in values.items()}, values, final, 'done')


def test_active_dendrites_rows_are_named_by_the_model(tmp_path):
  runs = []
  models = {  # (use_dendrites, percent_on, hidden, center_context) -> accuracy per seed
    (True, 0.1, (256, 256), True): [0.5, 0.6],
    (False, None, (256, 256), True): [0.3, 0.4],
    (False, None, (640, 640), True): [0.35, 0.45],
    (True, 0.1, (256, 256), False): [0.2, 0.3],
  }
  for (dendrites, on, hidden, center), accs in models.items():
    for seed, acc in enumerate(accs):
      workdir = tmp_path / f'{dendrites}{on}{hidden[0]}{center}{seed}'
      workdir.mkdir()
      (workdir / 'final_metrics.json').write_text(json.dumps({'per_task_accuracy': [acc, acc + 0.1]}))
      values = {
        'SEED': seed, 'NUM_TASKS': 2, 'NUM_STEPS': 30, 'active_dendrites.DendriticMLP.use_dendrites': dendrites,
        'active_dendrites.DendriticMLP.percent_on': on, 'active_dendrites.DendriticMLP.hidden': list(hidden),
        'projects.active_dendrites.experiment.run.center_context': center,
      }  # fmt: skip
      final = {'accuracy': acc, 'accuracy_oracle_context': acc, 'task_inference_accuracy': 1.0,
               'accuracy_first_task': acc / 2, 'num_params': 100.0 * hidden[0]}  # fmt: skip
      runs.append(_run(workdir.name, values, final, str(workdir)))
  text = ad_analysis.models(report.build(runs), str(tmp_path))
  lines = [line for line in text.splitlines() if line.startswith('| ') and '---' not in line][1:]
  assert (
    lines[0]
    == '| active dendrites + k-winners | 2 | 30 | 55.0 ± 7.1 | 55.0 ± 7.1 | 100.0 ± 0.0 | 27.5 ± 3.5 | 25,600 | 2 |'
  )
  assert lines[1].startswith('| active dendrites + k-winners, raw (uncentered) prototypes | 2 | 30 | 25.0 ± 7.1 |')
  assert lines[2].startswith('| MLP | 2 | 30 | 35.0 ± 7.1 |')
  assert lines[3].startswith('| MLP, hidden (640, 640) | 2 | 30 | 40.0 ± 7.1 |')
  assert (tmp_path / 'per_task_accuracy.png').stat().st_size > 2000
  # The claims on seed-paired gaps: only those whose two conditions ran (no k-winners-only or dendrites-only rows).
  claim_rows = [line for line in text.splitlines() if line.startswith('| 2 | 30 | ')]
  assert claim_rows == [
    '| 2 | 30 | dendrites and k-winners together beat the MLP | +20.0 ± 0.0 (n=2) | above: holds |',
    '| 2 | 30 | parameters do not explain it: dendrites + k-winners beat the parameter-matched MLP | +15.0 ± 0.0 (n=2) '
    '| above: holds |',
    '| 2 | 30 | context centering helps (deviation, see README) | +30.0 ± 0.0 (n=2) | above: holds |',
  ]


def test_elm_tables_name_models_and_budgets(tmp_path):
  runs = []
  elm, lstm = {'@': 'common.dendritic.elm.ELM'}, {'@': 'common.dendritic.recurrent.LSTM'}
  cores = {
    'elm': (elm, 1, 1000.0),
    'elm_capped': (elm, 1, 25.0),
    'branch_elm': (elm, 8, 1000.0),
    'lstm': (lstm, None, None),
  }
  for name, (core, branches, tau_max) in cores.items():
    for seed in range(2):
      values = {'SEED': seed, 'recurrent.SequenceModel.core': core, 'elm.ELM.num_branches': branches,
                'elm.ELM.tau_max': tau_max, 'GAP': 50, 'NUM_STEPS': 600}  # fmt: skip
      runs.append(_run(f'{name}/gap50/{seed}', values, {'accuracy': 0.2 + 0.1 * seed, 'num_params': 10.0}))
    values = {'SEED': 0, 'recurrent.SequenceModel.core': core, 'elm.ELM.tau_max': tau_max, 'LENGTH': 100,
              'NUM_STEPS': 2000}  # fmt: skip
    runs.append(_run(f'{name}/len100', values, {'accuracy': 0.5, 'loss': 0.01, 'num_params': 7.0}))
  text = elm_analysis.tables(report.build(runs), str(tmp_path))
  assert '| elm | 10 | 25.0 ± 7.1 | 2 |' in text
  assert '| elm_capped | 10 | 25.0 ± 7.1 | 2 |' in text and '| branch_elm | 10 |' in text
  assert '| model | params | T=100 (2000 steps) MSE | T=100 acc | n |' in text
  assert '| lstm | 7 | 0.0100 | 50.0 | 1 |' in text
  assert text.index('| elm |') < text.index('| branch_elm |') < text.index('| elm_capped |') < text.index('| lstm |')
  assert (tmp_path / 'accuracy_vs_gap.png').stat().st_size > 2000


def test_elm_claims_are_seed_paired(tmp_path):
  elm, lstm = {'@': 'common.dendritic.elm.ELM'}, {'@': 'common.dendritic.recurrent.LSTM'}
  accuracy = {'elm': [0.30, 0.40, 0.35], 'lstm': [0.10, 0.22, 0.14]}  # ELM - LSTM per seed: 20, 18, 21 points
  runs = []
  for name, accs in accuracy.items():
    for seed, acc in enumerate(accs):
      values = {'SEED': seed, 'recurrent.SequenceModel.core': elm if name == 'elm' else lstm, 'GAP': 800}
      runs.append(_run(f'{name}/{seed}', values, {'accuracy': acc, 'num_params': 10.0}))
  text = elm_analysis.tables(report.build(runs), str(tmp_path))
  assert '| ELM accuracy above lstm (points) | gap 800 | +19.7 ± 0.9 (n=3) | above: holds |' in text
  assert 'above gru' not in text  # no GRU runs: no claim row


def test_delay_rows_and_pruning_columns(tmp_path):
  runs = []
  kinds = {'none': ('FixedDelayDense', 1), 'fixed': ('FixedDelayDense', 12), 'dcls': ('DCLSDelayDense', 12)}
  for name, (kind, max_delay) in kinds.items():
    for seed in range(2):
      values = {
        'SEED': seed,
        'projects.synaptic_delays.experiment.run.task': {'@': 'projects.synaptic_delays.tasks.DelayMotifTask'},
        'model.DelaySNN.synapses': {'@': f'common.dendritic.delays.{kind}'},
        'delays.FixedDelayDense.max_delay': max_delay,
      }
      final = {'accuracy_keep_1': 0.9 - 0.1 * seed, 'accuracy_keep_0.1': 0.5, 'num_params': 1188.0}
      runs.append(_run(f'{name}{seed}', values, final))
  text = delay_analysis.pruning(report.build(runs), str(tmp_path))
  assert '| task | synapses | params | accuracy | keep 0.1 | n |' in text
  assert '| motif | no delays | 1,188 | 85.0 ± 7.1 | 50.0 ± 0.0 | 2 |' in text
  assert text.index('no delays') < text.index('random fixed delays') < text.index('learned delays (DCLS)')
  assert (tmp_path / 'pruning.png').stat().st_size > 2000


def test_sdr_headline_from_a_run_results_json(tmp_path):
  points = [(64, 8, 4), (128, 8, 4)]
  hist = np.array([[50, 30, 15, 4, 1], [70, 22, 7, 1, 0]])
  fm = sdr_experiment.false_match_rows(hist, points)
  un, un_mc = sdr_experiment.union_table(None, (64, 128), 8, 4, 2, (1, 2), 64, (), 0, 0)
  summary = sdr_experiment.summarise(fm, [], un, un_mc, [], (64, 128))
  results = {'plan': {}, 'summary': summary, 'false_match': fm, 'explicit_check': [], 'union': un, 'union_mc': un_mc,
             'false_negative': []}  # fmt: skip
  (tmp_path / 'run').mkdir()
  (tmp_path / 'run' / 'results.json').write_text(json.dumps(results))
  run = _run('run', {'SEED': 0}, {k: v for k, v in summary.items()}, str(tmp_path / 'run'))
  out = tmp_path / 'out'
  out.mkdir()
  text = sdr_analysis.closed_forms(report.build([run]), str(out))
  assert '| grid | n in {64, 128} x a in {8} x s in {4} (s <= a) x every theta in 1..s |' in text
  drop = fm[1]['exact_log10'] - fm[5]['exact_log10']  # theta = 2 at n = 64 and n = 128
  assert f'fall by {drop:.1f} (a=8, s=4) to {drop:.1f} (a=8, s=4) decades' in text
  assert f'{100 * summary["fraction_pvalue_above_0.01"]:.1f} % have' in text
  assert (out / 'tables.md').is_file() and (out / 'union.png').stat().st_size > 2000


# (config, sweep file, trials in the first vmapped group: their SEEDs)
SWEEPS = [
  ('configs/active_dendrites/ad_kwinners_10.gin', 'configs/active_dendrites/sweeps/seeds.py', [0, 1, 2, 3, 4]),
  ('configs/active_dendrites/ad_kwinners_10.gin', 'configs/active_dendrites/sweeps/cpu_table.py', [0, 1, 2, 3, 4]),
  ('configs/elm_neuron/spike_adding_elm.gin', 'configs/elm_neuron/sweeps/spike_adding.py', [0, 1, 2]),
  ('configs/elm_neuron/adding_lstm.gin', 'configs/elm_neuron/sweeps/adding.py', [0, 1, 2]),
  ('configs/synaptic_delays/motif_dcls.gin', 'configs/synaptic_delays/sweeps/seeds.py', [0, 1, 2]),
  ('configs/sdr_theory/paper_sweep.gin', 'configs/sdr_theory/sweeps/seeds.py', [0]),
]


@pytest.mark.parametrize('config,path,seeds', SWEEPS, ids=[p.partition('configs/')[2] for _, p, _ in SWEEPS])
def test_readme_sweeps_validate_and_vmap(config, path, seeds, monkeypatch):
  monkeypatch.chdir(ROOT)
  check_readme_sweep(config, path, seeds)
