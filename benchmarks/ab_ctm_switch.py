"""A CTM code switch off against on, in one process: the parity-16 train step and forward, interleaved.

  .venv/bin/python -m benchmarks.ab_ctm_switch --switch=common.ctm.ctm.TRANSPOSE_KERNELS [--rounds=6]
  ... --switch=common.ctm.ctm.HISTORY_SCAN --memory [--workload=parity64]   # compiled train step's temp memory

With --memory it compiles the train step both ways instead and prints its temporary buffer size (what the step
needs beyond its inputs and outputs), without running it; --workload=parity64 is paper_parity64.gin's model.

The switch is a module-level boolean that the CTM reads when it traces (common.ctm.ctm.TRANSPOSE_KERNELS,
FUSE_PROJECTIONS). Four programs are built with bench_ctm's train_runner (then forward_runner): off, on, off again,
on again, each compiled with the switch set that way; every round times 10 steps of each in turn. Printed: the
median ms of each, on/off as the median over rounds of (on + on2) / (off + off2), and off2/off, two identical programs
timed alike: the noise floor of the comparison. Timing both sides in one process takes out the process-to-process
drift that `benchmarks.against` (two trees, fresh processes) sees on this VM, about 10-20% for the CTM rows.
"""

import argparse
import importlib
import statistics
import sys
import time

from benchmarks import bench_ctm

STEPS_PER_ROUND = 10


def _fail(message: str) -> None:
  print(f'ab_ctm_switch: {message}', file=sys.stderr)
  sys.exit(2)


def _switch(path: str):
  """(module, attribute) of a dotted path to a module-level bool, or exit 2 naming the flag's fault."""
  module_name, _, attr = path.rpartition('.')
  try:
    module = importlib.import_module(module_name)
  except ImportError:
    _fail(f'--switch={path}: no module {module_name!r}; give module.ATTRIBUTE, e.g. common.ctm.ctm.TRANSPOSE_KERNELS')
  if not isinstance(getattr(module, attr, None), bool):
    _fail(f'--switch={path}: {module_name} has no boolean {attr!r}; give a module-level True/False switch.')
  return module, attr


def _build(module, attr: str, value: bool, forward: bool):
  setattr(module, attr, value)  # read while the first call traces the program
  run = bench_ctm.forward_runner()[0] if forward else bench_ctm.train_runner()[0]
  for _ in range(3):
    out = run()
  out.block_until_ready()
  return run


def _time_ms(run) -> float:
  start = time.perf_counter()
  for _ in range(STEPS_PER_ROUND):
    out = run()
  out.block_until_ready()
  return (time.perf_counter() - start) / STEPS_PER_ROUND * 1e3


def compare(module, attr: str, rounds: int, forward: bool) -> dict:
  original = getattr(module, attr)
  try:
    runs = {name: _build(module, attr, name.startswith('on'), forward) for name in ('off', 'on', 'off2', 'on2')}
  finally:
    setattr(module, attr, original)
  ms = {name: [] for name in runs}
  for _ in range(rounds):
    for name, run in runs.items():
      ms[name].append(_time_ms(run))
  pairs = list(zip(ms['off'], ms['on'], ms['off2'], ms['on2']))
  return {
    'median_ms': {name: statistics.median(v) for name, v in ms.items()},
    'on_over_off': statistics.median([(b + d) / (a + c) for a, b, c, d in pairs]),
    'noise_off2_over_off': statistics.median([c / a for a, _, c, _ in pairs]),
  }


def temp_memory_mib(module, attr: str, value: bool) -> float:
  """The compiled train step's temporary buffer size (MiB) with the switch set to `value` (compiled, not run)."""
  original = getattr(module, attr)
  setattr(module, attr, value)
  try:
    compiled = bench_ctm.train_runner()[1]()
  finally:
    setattr(module, attr, original)
  return compiled.memory_analysis().temp_size_in_bytes / 2**20


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--switch', required=True, help='dotted path of a module-level bool, e.g. common.ctm.ctm.X')
  parser.add_argument('--rounds', type=int, default=6)
  parser.add_argument('--memory', action='store_true', help="print the train step's compiled temp memory instead")
  parser.add_argument('--workload', default='parity16', help=f'one of {", ".join(bench_ctm.WORKLOADS)}')
  args = parser.parse_args()
  if args.rounds < 1:
    _fail(f'--rounds={args.rounds}: give at least 1.')
  if args.workload not in bench_ctm.WORKLOADS:
    _fail(f'--workload={args.workload}: unknown; choose one of {", ".join(bench_ctm.WORKLOADS)}.')
  module, attr = _switch(args.switch)
  bench_ctm.WORKLOAD = bench_ctm.WORKLOADS[args.workload]
  if args.memory:
    off, on = temp_memory_mib(module, attr, False), temp_memory_mib(module, attr, True)
    print(f'{bench_ctm.label()} train step b64, compiled temp memory: off {off:.1f} MiB, on {on:.1f} MiB', flush=True)
    return
  for forward in (False, True):
    r = compare(module, attr, args.rounds, forward)
    row = 'forward b256' if forward else 'train step b64'
    times = '  '.join(f'{k} {v:.2f}' for k, v in r['median_ms'].items())
    ratios = f'on/off {r["on_over_off"]:.3f}  (off2/off {r["noise_off2_over_off"]:.3f})'
    print(f'{bench_ctm.label()} {row}: {times} ms;  {ratios}', flush=True)


if __name__ == '__main__':
  main()
