"""`launch diff`: golden outputs, properties (diff(x, x) is empty, diff(b, a) mirrors diff(a, b)), inputs and
exit statuses, git revisions (a changed code default with no gin change), workdirs."""

import contextlib
import io
import json
import os
import random
import subprocess

import pytest

from launch import config_model as cm
from launch import diff
from launch.gin_args import repo_root

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = 'tests/launch_tools/data'
ROOT = repo_root()


def run_diff(*argv) -> tuple[int, str, str]:
  out, err = io.StringIO(), io.StringIO()
  cwd = os.getcwd()
  os.chdir(ROOT)
  try:
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
      status = diff.main(list(argv))
  finally:
    os.chdir(cwd)
  return status, out.getvalue(), err.getvalue()


@pytest.mark.parametrize('fmt,ext', [('terminal', 'txt'), ('markdown', 'md'), ('json', 'json')])
def test_golden(fmt, ext):
  status, out, err = run_diff(
    f'{DATA}/base.gin', f'{DATA}/changed.gin', '--b=toy_lib.train.metric="acc"', f'--format={fmt}'
  )
  assert status == 1, err
  path = os.path.join(HERE, 'golden', f'base_vs_changed.{ext}')
  if os.environ.get('UPDATE_GOLDEN'):
    with open(path, 'w') as f:
      f.write(out)
  with open(path) as f:
    assert out == f.read(), f'golden {path} differs; rerun with UPDATE_GOLDEN=1 after checking the new output'


def test_golden_semantics():
  """What the golden pair must show, spelled out (so a wrong golden cannot pass unnoticed)."""
  _, out, _ = run_diff(f'{DATA}/base.gin', f'{DATA}/changed.gin', '--format=json')
  doc = json.loads(out)
  by_key = {c['key']: c for c in doc['changes']}
  assert not doc['equal']
  # 1e-3 vs 0.001 and a binding equal to the code default are not changes.
  assert 'LEARNING_RATE' not in by_key and 'tests.launch_tools.toy_lib.train.log_every' not in by_key
  # A code default on one side, the gin file on the other, each with its provenance.
  noise = by_key['tests.launch_tools.toy_lib.data.noise']
  assert noise['a']['set_at'].startswith('code default (tests/launch_tools/toy_lib.py:')
  assert noise['b']['set_at'] == f'{DATA}/changed.gin:12'
  # Macro expanded but named; provenance of the macro and of the binding.
  steps = by_key['tests.launch_tools.toy_lib.train.num_steps']
  assert (steps['a']['value'], steps['b']['value'], steps['b']['text']) == (100, 200, '200 (%NUM_STEPS)')
  assert 'changed.gin:7' in steps['b']['set_at']
  assert by_key['NUM_STEPS']['reaches'] == ['tests.launch_tools.toy_lib.train.num_steps']  # macro fan-out
  # Checkpoint-breaking changes: model widths and the optimizer kind; not a dropout rate.
  assert diff.BREAKS_SHAPES in by_key['tests.launch_tools.toy_lib.Net.width']['flags']
  assert by_key['tests.launch_tools.toy_lib.Net.dropout']['flags'] == []
  assert diff.BREAKS_OPTIMIZER in by_key['tests.launch_tools.toy_lib.make_optimizer.name']['flags']
  assert any('dead binding' in f for f in by_key['tests.launch_tools.toy_lib.unused.level']['flags'])


# ---------------------------------------------------------------------------------------------------------------
# Properties over random configs.

_POOL = {
  'toy_lib.Net.width': [8, 16, 16.0, 32],
  'toy_lib.Net.depth': [1, 2, '%NUM_STEPS'],
  'toy_lib.Net.act': ["'relu'", "'tanh'"],
  'toy_lib.Net.dropout': [0.0, 0.1, 1e-1],
  'toy_lib.make_optimizer.learning_rate': ['1e-3', '0.001', '%LEARNING_RATE', '3e-4'],
  'toy_lib.make_optimizer.clip': ['None', '1.0'],
  'toy_lib.data.size': [64, '(64, 2)', '[1, 2]'],
  'toy_lib.train.metric': ["'loss'", "'acc'"],
  'NUM_STEPS': [1, 2, 3],
  'LEARNING_RATE': ['1e-3', '2e-3'],
}


def _random_config(rng: random.Random, path: str) -> str:
  lines = [
    'from __gin__ import dynamic_registration',
    'from tests.launch_tools import toy_lib',
    'ENTRY_POINT = @toy_lib.train',
    'toy_lib.train.model = @toy_lib.Net()',
    'toy_lib.train.optimizer = @toy_lib.make_optimizer',
    'toy_lib.train.data = @toy_lib.data()',
    'toy_lib.train.num_steps = %NUM_STEPS',
    'toy_lib.train.seed = 0',
    'NUM_STEPS = 1',
    'LEARNING_RATE = 1e-3',
  ]
  for key, values in _POOL.items():
    if rng.random() < 0.6:
      lines.append(f'{key} = {rng.choice(values)}')
  with open(path, 'w') as f:
    f.write('\n'.join(lines) + '\n')
  return path


def test_properties_on_random_configs(tmp_path):
  rng = random.Random(0)
  sides = []
  for i in range(12):
    path = _random_config(rng, str(tmp_path / f'c{i}.gin'))
    sides.append(diff.side_from_gin([path], [], [ROOT], 'code'))
  nonempty = 0
  for i, a in enumerate(sides):
    assert diff.compare(a, a) == []
    again = diff.side_from_gin([str(tmp_path / f'c{i}.gin')], [], [ROOT], 'code')
    assert diff.compare(a, again) == []
    for b in sides[i + 1 :]:
      ab, ba = diff.compare(a, b), diff.compare(b, a)
      assert diff.mirror(ab) == ba
      assert diff.mirror(diff.mirror(ab)) == ab
      nonempty += bool(ab)
      # Empty exactly when every effective value is numerically equal.
      same = all(diff.canon(a.entries[k]['expanded']) == diff.canon(b.entries[k]['expanded']) for k in a.entries)
      assert (ab == []) == (same and set(a.entries) == set(b.entries))
  assert nonempty > 10  # the generator does produce differences


def test_numbers_as_numbers_and_refs_by_target(tmp_path):
  a = tmp_path / 'a.gin'
  a.write_text(
    'from __gin__ import dynamic_registration\nfrom tests.launch_tools import toy_lib\n'
    'import tests.launch_tools.toy_lib\n'
    'toy_lib.Net.dropout = 1e-1\ntoy_lib.make_optimizer.learning_rate = 1\n'
    'toy_lib.train.model = @toy_lib.Net()\n'
  )
  b = tmp_path / 'b.gin'
  b.write_text(
    'from __gin__ import dynamic_registration\nimport tests.launch_tools.toy_lib\n'
    'tests.launch_tools.toy_lib.Net.dropout = 0.1\ntests.launch_tools.toy_lib.make_optimizer.learning_rate = 1.0\n'
    'tests.launch_tools.toy_lib.train.model = @tests.launch_tools.toy_lib.Net()\n'
  )
  status, out, _ = run_diff(str(a), str(b))
  assert status == 0, out
  assert 'configs are equal' in out


# ---------------------------------------------------------------------------------------------------------------
# Inputs and exit statuses.


def test_exit_status_equal_and_bad_inputs(tmp_path):
  assert run_diff(f'{DATA}/base.gin', f'{DATA}/base.gin')[0] == 0
  status, _, err = run_diff(str(tmp_path), f'{DATA}/base.gin')
  assert status == 2 and 'no saved config' in err
  status, _, err = run_diff('no_such_rev_xyz:tests/launch_tools/data/base.gin', f'{DATA}/base.gin')
  assert status == 2 and 'not a git revision' in err
  status, _, err = run_diff(f'{DATA}/base.gin')
  assert status == 2 and 'two sides' in err
  status, _, err = run_diff(f'{DATA}/missing.gin', f'{DATA}/base.gin')
  assert status == 2 and 'not found' in err


def test_workdirs(tmp_path):
  """Two run records (config/resolved.json, as the launcher writes it) compared by key."""
  for name, extra in (('w1', []), ('w2', ['toy_lib.Net.depth = 4'])):
    model = cm.load([f'{ROOT}/{DATA}/base.gin'], extra, [ROOT])
    os.makedirs(tmp_path / name / 'config')
    (tmp_path / name / 'config' / 'resolved.json').write_text(json.dumps(cm.to_json_dict(model)))
  status, out, _ = run_diff(str(tmp_path / 'w1'), str(tmp_path / 'w2'), '--format=json')
  doc = json.loads(out)
  assert status == 1
  assert [(c['key'], c['a']['value'], c['b']['value'], c['b']['set_at']) for c in doc['changes']] == [
    ('tests.launch_tools.toy_lib.Net.depth', 2, 4, 'command line')
  ]
  assert run_diff(str(tmp_path / 'w1'), f'{DATA}/base.gin')[0] == 0


def _git(repo, *args):
  subprocess.run(['git', '-C', str(repo), *args], check=True, capture_output=True)


def test_gin_file_at_two_git_revisions(tmp_path):
  """Only a code default changes between the revisions: the diff still shows it, with provenance per revision."""
  repo = tmp_path / 'repo'
  (repo / 'toypkg').mkdir(parents=True)
  (repo / 'toypkg' / '__init__.py').write_text('')
  module = 'def fit(*, rate=0.5, steps=10, workdir="", dry_run=False):\n  return {}\n'
  (repo / 'toypkg' / 'mod.py').write_text(module)
  (repo / 'exp.gin').write_text(
    'from __gin__ import dynamic_registration\nfrom toypkg import mod\nENTRY_POINT = @mod.fit\nmod.fit.steps = 20\n'
  )
  _git(repo, 'init', '-q')
  _git(repo, '-c', 'user.email=t@t', '-c', 'user.name=t', 'add', '.')
  _git(repo, '-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'one')
  (repo / 'toypkg' / 'mod.py').write_text(module.replace('rate=0.5', 'rate=0.25'))
  _git(repo, '-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qam', 'two')

  status, out, err = run_diff(f'--repo={repo}', 'HEAD~1:exp.gin', 'HEAD:exp.gin', '--format=json')
  assert status == 1, err
  (change,) = json.loads(out)['changes']
  assert change['key'] == 'toypkg.mod.fit.rate'
  assert (change['a']['value'], change['b']['value']) == (0.5, 0.25)
  assert change['a']['set_at'] == 'code default (HEAD~1:toypkg/mod.py:1)'
  assert change['b']['set_at'] == 'code default (HEAD:toypkg/mod.py:1)'
  # --base against the working tree, which equals HEAD.
  assert run_diff(f'--repo={repo}', '--base=HEAD', 'exp.gin')[0] == 0


def test_exact_checkpoint_check_with_shapes():
  """--shapes builds both experiments abstractly: a width change breaks restoring, a learning rate does not."""
  tiny = 'tests/launch_tools/data/tiny_fit.gin'
  status, out, err = run_diff(tiny, tiny, '--b=mlp.MLP.hidden=(8,)', '--shapes', '--format=json')
  ckpt = json.loads(out)['checkpoint']
  assert status == 1 and not ckpt['compatible'], err
  assert 'parameter dense_0/kernel: (2, 16) float32 in A, (2, 8) float32 in B' in ckpt['problems']
  status, out, _ = run_diff(tiny, tiny, '--b=LEARNING_RATE=0.1', '--shapes', '--format=json')
  assert status == 1 and json.loads(out)['checkpoint'] == {'compatible': True, 'problems': []}
