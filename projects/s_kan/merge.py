"""Merges the results.json of several compare runs (e.g. one per chunk of tasks, so each run stays a few minutes
on a shared CPU) into one results.json / results.md / results.png.

  python -m projects.s_kan.merge --out=projects/s_kan /tmp/s_kan_a /tmp/s_kan_b
"""

import argparse
import json
import os

from projects.s_kan import compare

_BASES = ('bspline', 'chebyshev', 'fourier', 'rbf', 'mexican_hat')
MODEL_ORDER = _BASES + ('skan', 'mlp') + tuple(b + compare.MATCHED for b in _BASES)


def merge(workdirs, out: str) -> dict:
  results = {}
  for d in workdirs:
    with open(os.path.join(d, 'results.json')) as f:
      for task, row in json.load(f).items():
        results.setdefault(task, {}).update(row)
  seeds = {len(r['values']) for row in results.values() for r in row.values()}
  if len(seeds) != 1:
    raise ValueError(f'merge: the runs used different numbers of seeds {sorted(seeds)}; rerun them alike.')
  models = [m for m in MODEL_ORDER if any(m in row for row in results.values())]
  os.makedirs(out, exist_ok=True)
  with open(os.path.join(out, 'results.json'), 'w') as f:
    json.dump(results, f, indent=2)
  with open(os.path.join(out, 'results.md'), 'w') as f:
    f.write(compare.table(results, models, seeds.pop()))
  compare.plot(results, models, os.path.join(out, 'results.png'))
  return results


if __name__ == '__main__':
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--out', required=True)
  parser.add_argument('workdirs', nargs='+')
  args = parser.parse_args()
  merge(args.workdirs, args.out)
