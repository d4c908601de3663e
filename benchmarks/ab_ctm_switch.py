"""A CTM code switch or XLA option, off against on in one process: the parity-16 train step and forward.

  .venv/bin/python -m benchmarks.ab_ctm_switch --switch=common.ctm.ctm.TRANSPOSE_KERNELS [--rounds=6]
  ... --switch=common.ctm.ctm.HISTORY_SCAN --memory [--workload=parity64]   # compiled train step's temp memory
  ... --option=xla_cpu_prefer_vector_width=256     # bench_ctm's compiler options, then with this one added

With --memory it compiles the train step both ways instead and prints its temporary buffer size (what the step
needs beyond its inputs and outputs), without running it; --workload=parity64 is paper_parity64.gin's model.

The switch is a module-level boolean that the CTM reads when it traces (common.ctm.ctm.TRANSPOSE_KERNELS,
FUSE_PROJECTIONS); an --option is an XLA compiler option NAME=VALUE (an integer, true/false, or a string) that 'on'
adds to the options the CTM configs compile with (bench_ctm.XLA_OPTIONS). Four programs are built with bench_ctm's
train_runner (then forward_runner): off, on, off again, on again, each compiled with the switch set that way; every
round times 10 steps of each in turn. Printed: the median ms of each, on/off as the median over rounds of (on + on2) /
(off + off2), and off2/off, two identical programs timed alike: the noise floor of the comparison. Timing both sides
in one process takes out the process-to-process drift that `benchmarks.against` (two trees, fresh processes) sees on
this VM, about 10-20% for the CTM rows.
"""

import argparse
import contextlib
import importlib
import statistics
import sys
import time

from benchmarks import bench_ctm
from common.train import engine
from common.train.errors import ConfigurationError

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


class Switch:
  """A module-level bool, set while a program traces; the compiler options stay bench_ctm's."""

  def __init__(self, module, attr: str):
    self.module, self.attr = module, attr

  @contextlib.contextmanager
  def set(self, on: bool):
    original = getattr(self.module, self.attr)
    setattr(self.module, self.attr, on)  # read while the first call traces the program
    try:
      yield bench_ctm.XLA_OPTIONS
    finally:
      setattr(self.module, self.attr, original)


class Option:
  """An XLA compiler option that 'on' adds to bench_ctm's options."""

  def __init__(self, name: str, value):
    self.name, self.value = name, value

  @contextlib.contextmanager
  def set(self, on: bool):
    yield {**bench_ctm.XLA_OPTIONS, self.name: self.value} if on else bench_ctm.XLA_OPTIONS


def _option(text: str) -> Option:
  """Option from NAME=VALUE, or exit 2 naming the flag's fault."""
  name, sep, value = text.partition('=')
  if not sep or not name or not value:
    _fail(f'--option={text}: give NAME=VALUE, e.g. --option=xla_cpu_prefer_vector_width=256')
  if value.lower() in ('true', 'false'):
    parsed = value.lower() == 'true'
  else:
    try:
      parsed = int(value)
    except ValueError:
      parsed = value
  try:  # an option this jaxlib does not know fails here, not mid-comparison
    engine.check_xla_options({name: parsed})
  except ConfigurationError as error:
    _fail(f'--option={text}: {error}')
  return Option(name, parsed)


def _build(variant, on: bool, forward: bool):
  with variant.set(on) as options:
    run = bench_ctm.forward_runner(options)[0] if forward else bench_ctm.train_runner(options)[0]
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


def compare(variant, rounds: int, forward: bool) -> dict:
  runs = {name: _build(variant, name.startswith('on'), forward) for name in ('off', 'on', 'off2', 'on2')}
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


def temp_memory_mib(variant, on: bool) -> float:
  """The compiled train step's temporary buffer size (MiB) with the variant off or on (compiled, not run)."""
  with variant.set(on) as options:
    compiled = bench_ctm.train_runner(options)[1]()
  return compiled.memory_analysis().temp_size_in_bytes / 2**20


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--switch', help='dotted path of a module-level bool, e.g. common.ctm.ctm.X')
  parser.add_argument('--option', help='an XLA compiler option NAME=VALUE added for "on"')
  parser.add_argument('--rounds', type=int, default=6)
  parser.add_argument('--memory', action='store_true', help="print the train step's compiled temp memory instead")
  parser.add_argument('--workload', default='parity16', help=f'one of {", ".join(bench_ctm.WORKLOADS)}')
  args = parser.parse_args()
  if args.rounds < 1:
    _fail(f'--rounds={args.rounds}: give at least 1.')
  if args.workload not in bench_ctm.WORKLOADS:
    _fail(f'--workload={args.workload}: unknown; choose one of {", ".join(bench_ctm.WORKLOADS)}.')
  if (args.switch is None) == (args.option is None):
    _fail('give exactly one of --switch=module.BOOL and --option=NAME=VALUE.')
  variant = Switch(*_switch(args.switch)) if args.switch else _option(args.option)
  bench_ctm.WORKLOAD = bench_ctm.WORKLOADS[args.workload]
  if args.memory:
    off, on = temp_memory_mib(variant, False), temp_memory_mib(variant, True)
    print(f'{bench_ctm.label()} train step b64, compiled temp memory: off {off:.1f} MiB, on {on:.1f} MiB', flush=True)
    return
  for forward in (False, True):
    r = compare(variant, args.rounds, forward)
    row = 'forward b256' if forward else 'train step b64'
    times = '  '.join(f'{k} {v:.2f}' for k, v in r['median_ms'].items())
    ratios = f'on/off {r["on_over_off"]:.3f}  (off2/off {r["noise_off2_over_off"]:.3f})'
    print(f'{bench_ctm.label()} {row}: {times} ms;  {ratios}', flush=True)


if __name__ == '__main__':
  main()
