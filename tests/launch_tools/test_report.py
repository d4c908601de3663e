"""`launch report`: grouping by the keys that differ (never the seed), mean ± std with n, runs that did not finish
listed apart, deterministic Markdown/CSV/JSON/PNG, analysis hooks, and bad input (exit status 2)."""

import csv
import io
import json
import os
import statistics
import subprocess
import sys

import pytest

from launch import config_model as cm
from launch import report
from launch.errors import UsageError
from launch.gin_args import repo_root

ROOT = repo_root()
LR = 'LEARNING_RATE'
HIDDEN = 'common.models.mlp.MLP.hidden'


def _run(root, path, bindings: dict, final: dict | None = None, trial: dict | None = None):
  """A run directory as the launcher leaves it: config/resolved.json, and final_metrics.json when it finished."""
  workdir = os.path.join(root, path)
  os.makedirs(os.path.join(workdir, 'config'))
  base = {'SEED': 0, LR: 1e-3, HIDDEN: (16,), 'common.train.loop.train.seed': cm.Macro('SEED')}
  resolved = {
    k: {'value': cm.to_json(v), 'gin': cm.to_gin(v), 'set_at': 'test'} for k, v in {**base, **bindings}.items()
  }
  with open(os.path.join(workdir, 'config', 'resolved.json'), 'w') as f:
    json.dump({'files': [], 'bindings': resolved}, f)
  if final is not None:
    with open(os.path.join(workdir, 'final_metrics.json'), 'w') as f:
      json.dump(final, f)
  if trial is not None:
    with open(os.path.join(workdir, 'trial.json'), 'w') as f:
      json.dump(trial, f)
  return workdir


# accuracy per (learning rate, seed); the grid sits two levels deep to check any depth is found.
ACC = {(1e-3, 0): 0.91, (1e-3, 1): 0.93, (1e-3, 2): 0.95, (1e-2, 0): 0.80, (1e-2, 1): 0.84, (1e-2, 2): 0.85}


@pytest.fixture
def root(tmp_path):
  for (lr, seed), acc in ACC.items():
    final = {'accuracy': acc, 'loss': 1 - acc, 'step': 10, 'compile_seconds': 1.5, 'first_step_unix_time': 1e9}
    _run(tmp_path, f'grid/lr{lr}/s{seed}', {LR: lr, 'SEED': seed}, final)
  _run(tmp_path, 'failed', {LR: 3e-2}, trial={'status': 'failed', 'error': 'TrainingDiverged: non-finite loss'})
  _run(tmp_path, 'pruned', {LR: 1e-3, 'SEED': 5}, trial={'status': 'pruned', 'reason': 'pruned at step 6'})
  killed = _run(tmp_path, 'killed', {LR: 1e-2, 'SEED': 7})
  with open(os.path.join(killed, 'metrics.jsonl'), 'w') as f:
    f.write(json.dumps({'step': 4, 'split': 'train', 'loss': 0.5}) + '\n')
  os.makedirs(tmp_path / 'not_a_run' / 'empty')
  return tmp_path


def test_groups_by_the_differing_key_and_averages_seeds(root):
  rep = report.build(report.find_runs(str(root)))
  assert rep.keys == [LR]  # SEED differs too, but never groups
  assert rep.metrics == ['accuracy', 'loss']  # step, compile time and timestamps are bookkeeping
  assert [g.config[LR] for g in rep.groups] == ['0.001', '0.01']  # numeric order
  for g, lr in zip(rep.groups, (1e-3, 1e-2)):
    values = [ACC[(lr, s)] for s in range(3)]
    s = g.stats['accuracy']
    assert s.n == 3 and len(g.runs) == 3
    assert s.mean == pytest.approx(statistics.mean(values)) and s.std == pytest.approx(statistics.stdev(values))
  # Runs that did not finish are listed apart and never averaged in (the pruned run shares a group's config).
  others = {r.path: r.status for r in rep.others}
  assert others == {'failed': 'failed', 'pruned': 'pruned', 'killed': 'unfinished'}
  assert {r.path for g in rep.groups for r in g.runs} == {f'grid/lr{lr}/s{s}' for lr, s in ACC}
  assert next(r for r in rep.others if r.path == 'killed').detail == 'last logged step 4'


def test_macro_references_group_by_what_they_mean(tmp_path):
  """One config binds the model directly, another through a macro (`model = %MODEL`): the runs group by the model
  they trained; a key bound to the same macro in every run (`width = %WIDTH`) is left to the macro's own key."""
  model, width = 'projects.p.run.model', 'projects.p.Net.width'
  ctm, lstm = cm.Ref('common.ctm.ctm.CTM', True), cm.Ref('common.ctm.lstm.LSTMBaseline', True)
  for seed in (0, 1):
    _run(tmp_path, f'direct{seed}', {model: ctm, 'SEED': seed, 'WIDTH': 8, width: cm.Macro('WIDTH')}, {'acc': 0.5})
    via = {model: cm.Macro('MODEL'), 'MODEL': lstm, 'SEED': seed, 'WIDTH': 16, width: cm.Macro('WIDTH')}
    _run(tmp_path, f'macro{seed}', via, {'acc': 0.7 + seed / 10})
  runs = report.find_runs(str(tmp_path))
  assert report.varying_keys(runs) == ['MODEL', 'WIDTH', model]
  rep = report.build(runs, group_by=[model])
  assert [(g.config[model], len(g.runs)) for g in rep.groups] == [(cm.to_gin(ctm), 2), (cm.to_gin(lstm), 2)]
  assert rep.groups[1].stats['acc'].mean == pytest.approx(0.75)


def test_outputs_are_complete_and_deterministic(root, tmp_path_factory):
  out_a = tmp_path_factory.mktemp('a')
  names = ('report.md', 'report.csv', 'report.json', 'report.png')
  assert report.main([str(root), f'--out={out_a}']) == 0
  first = {name: (out_a / name).read_bytes() for name in names}
  assert report.main([str(root), f'--out={out_a}']) == 0
  assert {name: (out_a / name).read_bytes() for name in names} == first
  md = (out_a / 'report.md').read_text()
  assert md.startswith('| LEARNING_RATE | n | accuracy | loss |\n|---|---|---|---|\n')
  assert '| 0.001 | 3 | 0.930 ± 0.020 | 0.070 ± 0.020 |' in md
  assert (
    '## Not averaged' in md and '| failed | failed | LEARNING_RATE=0.03 | TrainingDiverged: non-finite loss |' in md
  )
  rows = list(csv.DictReader(io.StringIO((out_a / 'report.csv').read_text())))
  assert [(r['LEARNING_RATE'], r['n']) for r in rows] == [('0.001', '3'), ('0.01', '3')]
  assert float(rows[1]['accuracy_mean']) == pytest.approx((0.80 + 0.84 + 0.85) / 3)
  data = json.loads((out_a / 'report.json').read_text())
  assert data['groups'][0]['metrics']['accuracy']['values'] == [0.91, 0.93, 0.95]
  assert sorted(r['status'] for r in data['not_averaged']) == ['failed', 'pruned', 'unfinished']
  assert os.path.getsize(out_a / 'report.png') > 2000


def test_group_by_suffix_metrics_and_formats(root, capsys):
  _run(root, 'wide/s0', {LR: 1e-3, HIDDEN: (64,)}, {'accuracy': 0.97, 'loss': 0.03})
  rep = report.build(report.find_runs(str(root)), group_by=['MLP.hidden'], metrics=['accuracy'])
  assert rep.keys == [HIDDEN] and rep.labels[HIDDEN] == 'MLP.hidden' and rep.pooled == [LR]
  assert [(g.config[HIDDEN], len(g.runs)) for g in rep.groups] == [('(16,)', 6), ('(64,)', 1)]
  assert rep.groups[1].stats['accuracy'].std is None  # n = 1: no spread to show
  assert report.main([str(root), '--group_by=MLP.hidden', '--metrics=accuracy', '--format=csv']) == 0
  printed = capsys.readouterr().out
  assert printed.splitlines()[0] == 'MLP.hidden,n,accuracy_mean,accuracy_std'
  assert report.main([str(root), '--format=json']) == 0
  assert json.loads(capsys.readouterr().out)['group_by'] == [LR, HIDDEN]


@pytest.mark.parametrize(
  'args,message',
  [
    (['--group_by=SEED'], 'the seed never groups'),
    (
      ['--group_by=LEARNING_RAT'],
      "no run under the root has a config key 'LEARNING_RAT'.*Did you mean 'LEARNING_RATE'",
    ),
    (['--metrics=acuracy'], 'acuracy not among'),
    (['--analysis=no_such_module_xyz:f'], 'cannot import no_such_module_xyz'),
  ],
)
def test_bad_arguments(root, args, message):
  with pytest.raises(UsageError, match=message):
    runs = report.find_runs(str(root))
    group_by = [a.split('=')[1] for a in args if a.startswith('--group_by')]
    metrics = [a.split('=')[1] for a in args if a.startswith('--metrics')]
    for a in args:
      if a.startswith('--analysis'):
        report.load_analysis(a.split('=')[1])
    report.build(runs, group_by=group_by, metrics=metrics)


def test_analysis_hook(root, tmp_path, monkeypatch):
  (tmp_path / 'my_analysis.py').write_text(
    'import os\n'
    'def analyse(rep, out):\n'
    "  open(os.path.join(out, 'extra.txt'), 'w').write(str(len(rep.groups)))\n"
    '  return f\'best accuracy {max(g.stats["accuracy"].mean for g in rep.groups):.3f}\'\n'
  )
  monkeypatch.syspath_prepend(str(tmp_path))
  assert report.main([str(root), '--analysis=my_analysis:analyse']) == 0
  assert (root / 'report.md').read_text().endswith('## Analysis\n\nbest accuracy 0.930\n')
  assert (root / 'extra.txt').read_text() == '2'


def test_formatting():
  assert report.fmt_stat(report.stat([0.95, 0.97])) == '0.960 ± 0.014'
  assert report.fmt_stat(report.stat([65.0, 65.0])) == '65 ± 0'
  assert report.fmt_stat(report.stat([1234.5, 1300.1])) == '1267 ± 46'
  assert report.fmt_stat(report.stat([2e-5, 3e-5])) == '2.500e-05 ± 7.1e-06'
  assert report.fmt_stat(report.stat([0.5])) == '0.5'


def test_cli_exits_2_for_a_root_without_runs(tmp_path):
  (tmp_path / 'nothing').mkdir()
  for root in (tmp_path / 'nothing', tmp_path / 'missing'):
    proc = subprocess.run(
      [sys.executable, '-m', 'launch', 'report', str(root)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith('launch report: ') and 'Traceback' not in proc.stderr
