"""Where the CTM's parity-16 step spends its time: a jax.profiler trace of N steps, XLA:CPU's op events summed.

  .venv/bin/python -m benchmarks.profile_ctm                # train step (batch 64), 10 traced steps
  .venv/bin/python -m benchmarks.profile_ctm --forward      # forward pass (batch 256)
  .venv/bin/python -m benchmarks.profile_ctm --top=40       # more of the per-op table

Prints, per step: the wall time the client waited, the thread time of the XLA:CPU executor's threads, and that
thread time by kind of op (dots, which YNNPACK or Eigen run; fused elementwise loops; reduce-window and reduce, the
two halves of XLA:CPU's tree rewrite of reductions over more than 32 elements; custom calls, the fused NLM kernel of
common/ctm/fused_nlm.py, whose helper thread's share is not in the executor's events; dynamic-update-slice, the
scan's stacking; copies and broadcasts), with the number of ops and the mean time of one; then by HLO computation
(the tick scan's forward and backward loop bodies, the rest); then the most expensive single ops with the HLO op name
JAX gave them. The workload and compiler options are bench_ctm's, so this profiles what that benchmark times. Thread
time above the summed ops is the executor's own scheduling between ops.
"""

import argparse
import collections
import glob
import re
import tempfile

import jax

from benchmarks import bench_ctm


def _kind(name: str) -> str:
  if name.startswith(('custom-call', 'ffi_call')):
    return 'custom call (fused NLM kernel)'
  if name.startswith(('ynn_fusion', 'dot', 'xnn_fusion')):
    return 'dot'
  if 'reduce-window' in name:
    return 'reduce-window'
  if 'reduce' in name:
    return 'reduce'
  if 'dynamic-update-slice' in name:
    return 'dynamic-update-slice'
  if name.startswith(('copy', 'wrapped_broadcast', 'wrapped_copy')):
    return 'copy / broadcast'
  return 'elementwise loop'


def _computations(hlo: str) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
  """(op name -> the HLO computation holding it, computation -> a label: the entry computation, or the op_name of
  the while loop whose body it is, op name -> its HLO line)."""
  where, label, lines, current = {}, {}, {}, None
  for line in hlo.splitlines():
    header = re.match(r'^(ENTRY )?%?([\w.\-]+) \(.*\{$', line)
    if header:
      current = header.group(2)
      if header.group(1):
        label[current] = 'outside the loops (entry computation)'
      continue
    op = re.match(r'\s*(?:ROOT )?%([\w.\-]+) = ', line)
    if op and current:
      where[op.group(1)] = current
      lines[op.group(1)] = line
    body = re.search(r'body=%?([\w.\-]+)', line)
    if body:
      op_name = re.search(r'op_name="([^"]+)"', line)
      label[body.group(1)] = f'{op_name.group(1) if op_name else body.group(1)} (loop body)'
  return where, label, lines


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--forward', action='store_true', help='profile the forward pass instead of the train step')
  parser.add_argument('--steps', type=int, default=10)
  parser.add_argument('--top', type=int, default=15)
  args = parser.parse_args()
  run, compiled = bench_ctm.forward_runner() if args.forward else bench_ctm.train_runner()
  for _ in range(3):
    jax.block_until_ready(run())
  with tempfile.TemporaryDirectory() as trace_dir:
    with jax.profiler.trace(trace_dir):
      for _ in range(args.steps):
        jax.block_until_ready(run())
    data = jax.profiler.ProfileData.from_file(glob.glob(f'{trace_dir}/**/*.xplane.pb', recursive=True)[0])

  per_op, count, kinds, kind_count = collections.Counter(), collections.Counter(), collections.Counter(), {}
  wall = executor = 0
  for plane in data.planes:
    for line in plane.lines:
      for event in line.events:
        name, ns = event.name, event.duration_ns
        if name == 'ThunkExecutor::Execute (wait for completion)':
          wall += ns
        elif 'XLAEigen' in line.name and name == 'ThunkExecutor::Execute':
          executor += ns
        elif 'XLAEigen' in line.name and not name.startswith(('ThunkExecutor', 'while', 'end:', 'Threadpool')):
          per_op[name] += ns
          count[name] += 1
          kinds[_kind(name)] += ns
          kind_count[_kind(name)] = kind_count.get(_kind(name), 0) + 1

  n, ms = args.steps, 1e-6
  what = 'forward b256' if args.forward else 'train step b64'
  print(f'ctm parity-16 {what}, {n} traced steps on {jax.devices()[0].platform} (per step):')
  ops_ms = sum(kinds.values()) * ms / n
  print(f'  wall {wall * ms / n:.2f} ms; executor thread time {executor * ms / n:.2f} ms; ops {ops_ms:.2f} ms')
  for kind, ns in kinds.most_common():
    ops = kind_count[kind] / n
    print(f'  {kind:22s} {ns * ms / n:7.2f} ms  {ops:6.0f} ops  {ns / kind_count[kind] / 1e3:6.1f} us each')
  where, label, lines = _computations(compiled().as_text())
  by_loop, loop_ops = collections.Counter(), collections.Counter()
  for name, ns in per_op.items():
    place = label.get(where.get(name), 'not an HLO op (thread-pool waits)')
    by_loop[place] += ns
    loop_ops[place] += count[name]
  print('by computation (ms per step, ops per step; a loop body counts all its iterations):')
  for place, ns in by_loop.most_common():
    print(f'  {ns * ms / n:7.2f} ms {loop_ops[place] / n:6.0f} ops  {place[-100:]}')
  print('most expensive ops (ms per step, calls per step, HLO op name):')
  for name, ns in per_op.most_common(args.top):
    source = lines.get(name, '')
    op_name = source.split('op_name="', 1)[1].split('"', 1)[0] if 'op_name="' in source else ''
    print(f'  {ns * ms / n:7.3f} {count[name] / n:4.0f}  {name:32s} {op_name[-90:]}')


if __name__ == '__main__':
  main()
