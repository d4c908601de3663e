"""Every benchmark row of this tree timed against another commit, in the same run: did a change make us slower?

  python -m benchmarks.against --base=HEAD~1 [--only=kan,dendritic] [--rounds=2] [--quick]

The base commit is checked out into a temporary git worktree (its own code, this venv); then, for each round, each
family's benchmark runs in the base tree and in this tree one after the other (`python -m benchmarks.run
--only=<family> --json=...` in a fresh process each), so both sides see the same machine load. Rows are matched by
workload name; the table shows our milliseconds in each tree (median over rounds) and head/base. A row is flagged
'slower' when head takes more than `--tolerance` (default 10%) longer than base. Rows present in only one tree
(a benchmark that changed its workloads) are listed apart. Peers are left out of the comparison: it is about us.
Writes benchmarks/results/against.json.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from benchmarks import run as run_lib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _worktree(base: str) -> str:
  path = tempfile.mkdtemp(prefix='bench-base-')
  subprocess.run(['git', 'worktree', 'add', '--detach', path, base], cwd=ROOT, check=True, capture_output=True)
  return path


def _rows(tree: str, family: str, quick: bool) -> dict[str, float]:
  out = os.path.join(tempfile.mkdtemp(prefix='bench-json-'), 'rows.json')
  cmd = [sys.executable, '-m', 'benchmarks.run', f'--only={family}', f'--json={out}'] + (['--quick'] if quick else [])
  env = {**os.environ, 'PYTHONPATH': tree}
  done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
  if done.returncode != 0 or not os.path.exists(out):
    print(f'{family} in {tree} failed:\n{done.stderr[-2000:]}', file=sys.stderr)
    return {}
  with open(out) as f:
    data = json.load(f)
  return {r['workload']: r['ours_ms'] for r in data['rows'] if r.get('ours_ms') == r.get('ours_ms')}


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--base', required=True, help='the commit to compare against, e.g. HEAD~1 or a hash')
  parser.add_argument('--only', default='', help='comma-separated families (default: every benchmark)')
  parser.add_argument('--rounds', type=int, default=1)
  parser.add_argument('--tolerance', type=float, default=0.10)
  parser.add_argument('--quick', action='store_true')
  parser.add_argument('--json', default=os.path.join(HERE, 'results', 'against.json'))
  args = parser.parse_args(argv)
  families = [f for f in args.only.split(',') if f] or ['launcher', *(n[len('bench_') :] for n in run_lib.discover())]
  base_tree = _worktree(args.base)
  base_rev = subprocess.run(['git', 'rev-parse', args.base], cwd=ROOT, capture_output=True, text=True).stdout.strip()
  head_rev = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=ROOT, capture_output=True, text=True).stdout.strip()
  timings: dict[str, dict[str, list[float]]] = {}
  try:
    for _ in range(args.rounds):
      for family in families:
        for side, tree in (('base', base_tree), ('head', ROOT)):
          for workload, ms in _rows(tree, family, args.quick).items():
            timings.setdefault(f'{family}: {workload}', {'base': [], 'head': []})[side].append(ms)
  finally:
    subprocess.run(['git', 'worktree', 'remove', '--force', base_tree], cwd=ROOT, capture_output=True)
  rows, lines = [], [f'head {head_rev[:10]} against base {base_rev[:10]} ({args.rounds} round(s))', '']
  lines.append(f'{"workload":<90} {"base ms":>10} {"head ms":>10} {"head/base":>9}')
  for name, t in sorted(timings.items()):
    if not t['base'] or not t['head']:
      rows.append({'workload': name, 'only_in': 'base' if t['base'] else 'head'})
      continue
    b, h = statistics.median(t['base']), statistics.median(t['head'])
    flag = 'slower' if h > b * (1 + args.tolerance) else ''
    rows.append({'workload': name, 'base_ms': b, 'head_ms': h, 'ratio': h / b, 'flag': flag})
    lines.append(f'{name[:90]:<90} {b:>10.2f} {h:>10.2f} {h / b:>8.2f}x {flag}')
  only = [r for r in rows if 'only_in' in r]
  if only:
    lines += ['', 'rows in one tree only (the benchmark changed its workloads):']
    lines += [f'  {r["only_in"]}: {r["workload"]}' for r in only]
  print('\n'.join(lines))
  os.makedirs(os.path.dirname(args.json), exist_ok=True)
  with open(args.json, 'w') as f:
    json.dump({'base': base_rev, 'head': head_rev, 'rounds': args.rounds, 'rows': rows}, f, indent=2)
  return 0


if __name__ == '__main__':
  sys.exit(main())
