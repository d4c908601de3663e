"""Merges the results.json of several compare runs (e.g. one per variant, so each run stays a few minutes on a
shared CPU) into one results.json / results.md / results.png.

  python -m projects.kan_attention.merge --out=projects/kan_attention /tmp/kan_attention_a /tmp/kan_attention_b
"""

import argparse
import json
import os

from projects.kan_attention import compare


def merge(workdirs, out: str) -> dict:
  results = {}
  for d in workdirs:
    with open(os.path.join(d, 'results.json')) as f:
      results.update(json.load(f))
  runs = {(len(r['accuracy']), r.get('num_steps')) for r in results.values()}
  if len(runs) != 1:
    raise ValueError(f'merge: the runs differ in (seeds, steps) {sorted(runs)}; rerun them alike.')
  num_seeds, num_steps = runs.pop()
  compare._write(results, num_seeds, num_steps, out)
  return results


if __name__ == '__main__':
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--out', required=True)
  parser.add_argument('workdirs', nargs='+')
  args = parser.parse_args()
  merge(args.workdirs, args.out)
