"""Sweeps: the hyper vocabulary, sweep files, trial ids, --list_trials/--trial, local parallel mode, results,
and bad input (exit status 2 with a clear message)."""

import csv
import json
import os
import subprocess
import sys

import pytest

from launch import hyper, sweep
from launch.errors import UsageError
from launch.gin_args import repo_root

ROOT = repo_root()
BASE = 'tests/launch_tools/data/base.gin'
GRID = 'tests/launch_tools/data/sweeps/grid.py'


def test_product_zip_chain_random():
  p = hyper.product([hyper.sweep('a', [1, 2]), hyper.sweep('b', ['x', 'y', 'z'])])
  assert len(p) == 6 and p.trials[1] == (('a', 1), ('b', 'y')) and p.keys == ['a', 'b']
  z = hyper.zip([hyper.sweep('a', [1, 2]), hyper.sweep('b', [3, 4])])
  assert z.trials == ((('a', 1), ('b', 3)), (('a', 2), ('b', 4)))
  assert len(hyper.chain([p, z])) == 8
  space = {
    'lr': hyper.loguniform(1e-4, 1e-2),
    'd': hyper.uniform(0, 1),
    'n': hyper.randint(1, 3),
    'c': hyper.choice('pq'),
  }
  r1, r2 = hyper.random_search(space, n=5, seed=0), hyper.random_search(space, n=5, seed=0)
  assert r1 == r2 != hyper.random_search(space, n=5, seed=1)
  for trial in r1.trials:
    v = dict(trial)
    assert 1e-4 <= v['lr'] <= 1e-2 and 0 <= v['d'] <= 1 and v['n'] in (1, 2, 3) and v['c'] in 'pq'


@pytest.mark.parametrize(
  'make,message',
  [
    (lambda: hyper.sweep('a', []), 'the axis is empty'),
    (lambda: hyper.zip([hyper.sweep('a', [1, 2]), hyper.sweep('b', [1, 2, 3])]), 'different lengths'),
    (lambda: hyper.product([hyper.sweep('a', [1]), hyper.sweep('a', [2])]), 'swept by parts'),
    (lambda: hyper.loguniform(0, 1), '0 < low < high'),
  ],
)
def test_malformed_sweeps(make, message):
  with pytest.raises(hyper.SweepError, match=message):
    make()


def test_trial_ids_are_stable_and_order_free():
  a = sweep.trials_of(hyper.product([hyper.sweep('x', [1, 2]), hyper.sweep('y', [3])]), 'f')
  b = sweep.trials_of(hyper.product([hyper.sweep('y', [3]), hyper.sweep('x', [2, 1])]), 'f')
  assert {t.id for t in a} == {t.id for t in b}
  assert a[0].id == next(t.id for t in b if dict(t.values)['x'] == 1)
  assert a[0].bindings == ['x = 1', 'y = 3']
  with pytest.raises(UsageError, match='identical'):
    sweep.trials_of(hyper.chain([hyper.sweep('x', [1]), hyper.sweep('x', [1])]), 'f')


def _opts(tmp_path, path, **kw):
  return sweep.Options(sweep=path, gin_files=[BASE], bindings=[], search_paths=[ROOT], workdir=str(tmp_path), **kw)


def _write(tmp_path, body: str) -> str:
  path = tmp_path / 'sweep.py'
  path.write_text(f'def sweep(h):\n  return {body}\n')
  return str(path)


@pytest.mark.parametrize(
  'body,message',
  [
    ("h.sweep('toy_lib.Net.widht', [1, 2])", "no parameter 'widht'.*Did you mean 'width'"),
    ("h.sweep('NUM_STEP', [1, 2])", "neither a macro.*Did you mean 'NUM_STEPS'"),
    ("h.sweep('NUM_STEPS', [])", 'the axis is empty'),
    ("h.zip([h.sweep('SEED', [1, 2]), h.sweep('NUM_STEPS', [3])])", 'different lengths'),
  ],
)
def test_bad_sweep_files(tmp_path, body, message, monkeypatch):
  monkeypatch.chdir(ROOT)
  with pytest.raises(UsageError, match=message):
    sweep.main(_opts(tmp_path, _write(tmp_path, body), list_trials=True))


def test_list_and_one_trial_in_process(tmp_path, monkeypatch, capsys):
  monkeypatch.chdir(ROOT)
  assert sweep.main(_opts(tmp_path, GRID, list_trials=True)) == 0
  out = capsys.readouterr().out
  assert 'NUM_STEPS' in out and 'toy_lib.Net.width' in out and '4 trials' in out
  with pytest.raises(UsageError, match=r'--trial=7 is out of range: the sweep has 4 trials \(0..3\)'):
    sweep.main(_opts(tmp_path, GRID, trial='7'))
  trials = sweep.trials_of(sweep.load(GRID), GRID)
  assert sweep.main(_opts(tmp_path, GRID, trial='3')) == 0
  record = json.loads((tmp_path / trials[3].id / 'trial.json').read_text())
  assert record['status'] == 'done' and record['bindings'] == ['NUM_STEPS = 2', 'toy_lib.Net.width = 8']
  assert record['final']['loss'] == 2.0  # the toy entry point returns num_steps as its loss
  resolved = json.loads((tmp_path / trials[3].id / 'config' / 'resolved.json').read_text())['bindings']
  assert resolved['tests.launch_tools.toy_lib.Net.width']['set_at'] == 'command line'


def test_cli_bad_input_exits_2(tmp_path):
  bad = _write(tmp_path, "h.sweep('toy_lib.Net.depht', [1, 2])")
  proc = subprocess.run(
    [sys.executable, '-m', 'launch', f'--gin_file={BASE}', f'--sweep={bad}', '--list_trials'],
    cwd=ROOT,
    capture_output=True,
    text=True,
    timeout=120,
  )
  assert proc.returncode == 2, proc.stderr
  assert "Did you mean 'depth'" in proc.stderr and 'Traceback' not in proc.stderr


def test_local_parallel_mode_resumes_and_reports(tmp_path):
  two = _write(tmp_path, "h.sweep('NUM_STEPS', [3, 5])")
  root = tmp_path / 'root'
  cmd = [sys.executable, '-m', 'launch', f'--gin_file={BASE}', f'--sweep={two}', f'--workdir={root}']
  proc = subprocess.run([*cmd, '--sweep_workers=2', '--sweep_metric=loss'], cwd=ROOT, capture_output=True, text=True)
  assert proc.returncode == 0, proc.stdout + proc.stderr
  with open(root / 'results.csv') as f:
    rows = list(csv.DictReader(f))
  assert [(r['NUM_STEPS'], r['status'], float(r['loss'])) for r in rows] == [('3', 'done', 3.0), ('5', 'done', 5.0)]
  assert (root / 'results.md').read_text().startswith('| # | id | NUM_STEPS | status |')
  assert os.path.getsize(root / 'results.png') > 1000
  manifest = json.loads((root / 'sweep_manifest.json').read_text())
  assert sorted(manifest['trials']) == sorted(r['id'] for r in rows)
  # Re-launching skips finished trials (resumable, stable workdirs).
  again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
  assert again.returncode == 0 and '2 already done' in again.stdout


def _launch_modules() -> dict[str, tuple[set[str], set[tuple[str, str]]]]:
  """launch module -> (the launch modules it imports at any level, function-level included; the (module, name)
  pairs it reads as `alias.name` from an imported launch module)."""
  import ast

  folder = os.path.join(ROOT, 'launch')
  names = {f[:-3] for f in os.listdir(folder) if f.endswith('.py')}
  out = {}
  for name in names:
    with open(os.path.join(folder, f'{name}.py')) as f:
      tree = ast.parse(f.read())
    aliases = {}
    for node in ast.walk(tree):
      if isinstance(node, ast.ImportFrom) and node.module == 'launch':
        aliases |= {a.asname or a.name: a.name for a in node.names if a.name in names}
      elif isinstance(node, ast.ImportFrom) and (node.module or '').startswith('launch.'):
        aliases.setdefault('', node.module.split('.')[1])
        aliases[node.module] = node.module.split('.')[1]
      elif isinstance(node, ast.Import):
        aliases |= {a.asname or a.name: a.name.split('.')[1] for a in node.names if a.name.startswith('launch.')}
    reads = {
      (aliases[n.value.id], n.attr)
      for n in ast.walk(tree)
      if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in aliases
    }
    out[name] = (set(aliases.values()) - {name}, reads)
  return out


def _launch_imports() -> dict[str, set[str]]:
  return {name: imports for name, (imports, _) in _launch_modules().items()}


def test_launch_has_no_import_cycles():
  graph = _launch_imports()

  def cycle_from(start):
    stack = [(start, [start])]
    while stack:
      node, path = stack.pop()
      for nxt in graph.get(node, ()):
        if nxt == start:
          return path + [nxt]
        if nxt not in path:
          stack.append((nxt, path + [nxt]))
    return None

  cycles = [c for c in map(cycle_from, sorted(graph)) if c]
  assert cycles == [], cycles
  # Trial bookkeeping has one home that the sweep, its report and the vmapped path all import.
  for user in ('sweep', 'sweep_report', 'vmapped'):
    assert 'trials' in graph[user], user


TRIAL_TOOLS = ('trials', 'sweep', 'sweep_report', 'vmapped', 'report', 'study', 'hyper')


def test_trial_tools_read_no_private_names_of_other_launch_modules():
  private = sorted(
    f'{name} reads {module}.{attr}'
    for name, (_, reads) in _launch_modules().items()
    for module, attr in reads
    if name in TRIAL_TOOLS and attr.startswith('_') and not attr.startswith('__')
  )
  assert private == []
