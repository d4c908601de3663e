"""Runs every benchmark and prints one table (workload, ours, peer, ratio), plus JSON.

  python -m benchmarks.run                 # all benchmarks/bench_*.py modules + launcher overhead
  python -m benchmarks.run --only=kan      # one family
  python -m benchmarks.run --quick         # fewer repeats (a smoke check, not a measurement)

Each benchmarks/bench_<family>.py defines run(quick: bool) -> list[harness.Row]. Numbers are medians of
jitted steps with warm-up excluded; every ratio is computed from numbers measured in this same run.
"""

import argparse
import importlib
import pathlib
import sys
import traceback

from benchmarks import harness, launcher_overhead

HERE = pathlib.Path(__file__).parent


def discover() -> list[str]:
  return sorted(p.stem for p in HERE.glob('bench_*.py'))


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument(
    '--only', action='append', default=[], help='family name(s), repeated or comma-separated: kan,ctm,launcher'
  )
  parser.add_argument('--quick', action='store_true')
  parser.add_argument('--json', default=str(HERE / 'results' / 'all.json'))
  args = parser.parse_args(argv)

  rows: list[harness.Row] = []
  families = {name[len('bench_') :]: name for name in discover()}
  wanted = [name for arg in args.only for name in arg.split(',') if name] or ['launcher', *families]
  if 'launcher' in wanted:
    rows += launcher_overhead.run(args.quick)
  for family in wanted:
    if family == 'launcher':
      continue
    if family not in families:
      print(f'no benchmark for {family!r}; have {["launcher", *sorted(families)]}', file=sys.stderr)
      return 2
    try:
      rows += importlib.import_module(f'benchmarks.{families[family]}').run(quick=args.quick)
    except Exception:  # one broken benchmark must not hide the others' numbers
      traceback.print_exc()
      rows.append(harness.Row(f'{family}: FAILED', float('nan'), note='see traceback above'))
  print(harness.format_table(rows))
  harness.write_json(rows, args.json)
  print(f'wrote {args.json}')
  return 0


if __name__ == '__main__':
  sys.exit(main())
