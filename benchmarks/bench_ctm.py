"""CTM speed: the issue's parity-16 workload, train step (forward, backward, AdamW) and forward only.

Workload: D=256, d_input=64, heads=4, T=16, M=8, n_synch_out=n_synch_action=32, synapse depth 1, NLM hidden 8,
deep NLMs, random-pairing, float32; train step at batch 64, forward at batch 256. Ours compiles with the options the
CTM parity configs use (configs/base/xla_cpu_small_ops.gin, common/train/xla_options.py) and runs on the state `launch`
builds (the synchronisation's neuron indices are model state, read at run time), with its deep NLMs as the fused CPU
kernel of common/ctm/fused_nlm.py (as in every CPU run of the CTM where g++ builds it); a third row times the train step
with XLA's defaults, which is what `common.ctm` gives a script that does not pass them, one row without
rematerialised ticks (CTM.remat_ticks=False), and two more rows run the synapses and attention in bfloat16
(CTM.compute_dtype), against the reference's float32.

Peer: the reference PyTorch implementation (SakanaAI/continuous-thought-machines, models/ctm.py), run by
benchmarks/ctm_reference_peer.py in the interpreter CTM_PEER_PYTHON (a separate venv with torch; see
benchmarks/requirements-ctm.txt) with CTM_REFERENCE_DIR pointing at a checkout of that repository (not vendored).
Without it, rows say
'peer not installed' and quote the issue's reference numbers
(109 ms train step, 113 ms forward at batch 256, measured by the issue author on a 2-core CPU, not here).

  .venv/bin/python -m benchmarks.bench_ctm            # full: 30 timed steps per row
  .venv/bin/python -m benchmarks.bench_ctm --quick    # 5 timed steps
  ... -m benchmarks.bench_ctm --rounds=5              # with the peer: 5 alternating rounds of both sides, paired ratios
  ... -m benchmarks.bench_ctm --workload=parity64     # paper_parity64.gin's model (accelerators; ctm_parity64*.json)
  CTM_PEER_PYTHON=/tmp/bench-ctm-venv/bin/python CTM_REFERENCE_DIR=/tmp/ctm_ref .venv/bin/python -m benchmarks.bench_ctm

On a GPU machine both sides run on the GPU: JAX picks it up by itself, the peer with CTM_PEER_DEVICE=cuda (torch is
preinstalled there, so CTM_PEER_PYTHON can be that interpreter); XLA_PYTHON_CLIENT_PREALLOCATE=false keeps JAX from
reserving the memory the peer needs. Row names carry JAX's platform; the peer's carries its device.
"""

import functools
import json
import os
import statistics
import subprocess
import sys

import jax
import optax

from benchmarks import harness
from common.ctm.backbones import ParityBackbone
from common.ctm.ctm import CTM
from common.ctm.tasks import ParityTask
from common.train import loop, xla_options
from common.train import state as state_lib

# Workloads by name (--workload=NAME; default parity16, the issue's). parity64 is the model of
# configs/ctm_parity/paper_parity64.gin at the paper's batch 64 (forward at 256), for accelerators: the paper's scale,
# where per-kernel launch overhead weighs less than at parity-16.
WORKLOADS = {
  'parity16': dict(
    iterations=16,
    d_model=256,
    d_input=64,
    heads=4,
    n_synch_out=32,
    n_synch_action=32,
    synapse_depth=1,
    memory_length=8,
    deep_nlms=True,
    memory_hidden_dims=8,
    neuron_select_type='random-pairing',
    out_dims=2 * 16,
    dropout=0.0,
  ),
  'parity64': dict(
    iterations=75,
    d_model=1024,
    d_input=512,
    heads=8,
    n_synch_out=32,
    n_synch_action=32,
    synapse_depth=1,
    memory_length=25,
    deep_nlms=True,
    memory_hidden_dims=16,
    neuron_select_type='random',
    out_dims=2 * 64,
    dropout=0.0,
  ),
}
WORKLOAD = WORKLOADS['parity16']
# The peer's name in every row, with the device its tensors live on (ctm_reference_peer.py reads the same variable).
PEER = f'reference torch ({os.environ.get("CTM_PEER_DEVICE", "cpu")})'
QUOTED = {'train': 109.0, 'forward': 113.0}
# The options the CTM parity configs compile with (configs/base/xla_cpu_small_ops.gin with ctm_t16.gin's
# XLA_CPU_VECTOR_WIDTH), so the benchmark times what `launch` runs; a test ties the two.
XLA_OPTIONS = xla_options.cpu_small_ops(vector_width=512)


def label() -> str:
  return f'parity-{WORKLOAD["out_dims"] // 2}'


def build(batch_size: int, **overrides):
  length = WORKLOAD['out_dims'] // 2
  model = CTM(**WORKLOAD, prediction_reshaper=(length, 2), backbone=ParityBackbone(WORKLOAD['d_input']), **overrides)
  task = ParityTask(length=length, batch_size=batch_size)
  return model, task


def _variables(model, task):
  return jax.jit(functools.partial(state_lib.init_variables, model, task.init_inputs()))(jax.random.PRNGKey(0))


def train_runner(options=XLA_OPTIONS, **overrides):
  """(run, compiled): run() takes one jitted train step (batch 64, AdamW) on the state it carries and returns the loss;
  compiled() is that step compiled (its HLO text, memory analysis). The state is what loop.train steps on."""
  model, task = build(64, **overrides)
  tx = optax.adamw(1e-4)
  state = state_lib.create_state(_variables(model, task), tx)
  step = jax.jit(loop.make_train_step(model, task, tx), donate_argnums=(0,), compiler_options=options)
  keys = jax.random.PRNGKey(1), jax.random.PRNGKey(2)
  box = [state]

  def run():
    box[0], metrics = step(box[0], {}, *keys)
    return metrics['loss']

  return run, lambda: step.lower(box[0], {}, *keys).compile()


def forward_runner(options=XLA_OPTIONS, **overrides):
  """(run, compiled): run() is one jitted forward pass at batch 256; compiled() that pass compiled."""
  model, task = build(256, **overrides)
  variables = _variables(model, task)
  x = task.train_batch({}, jax.random.PRNGKey(3), 0)['inputs']
  fwd = jax.jit(lambda v, x: model.apply(v, x)['predictions'], compiler_options=options)
  return (lambda: fwd(variables, x)), lambda: fwd.lower(variables, x).compile()


def ours_train_step_ms(repeats: int, options=XLA_OPTIONS, **overrides) -> float:
  return harness.time_fn(train_runner(options, **overrides)[0], warmup=3, repeats=repeats)


def ours_forward_ms(repeats: int, **overrides) -> float:
  return harness.time_fn(forward_runner(**overrides)[0], warmup=3, repeats=repeats)


def reference_ms(repeats: int):
  """Times the reference PyTorch CTM on the same workload; returns (train_ms, forward_ms) or a reason string.

  The peer runs in its own interpreter (CTM_PEER_PYTHON, a venv with torch; default: this one) on
  benchmarks/ctm_reference_peer.py, which imports the reference from CTM_REFERENCE_DIR.
  """
  ref_dir = os.environ.get('CTM_REFERENCE_DIR')
  python = os.environ.get('CTM_PEER_PYTHON', sys.executable)
  if not ref_dir or not os.path.isdir(ref_dir):
    return 'peer not installed (set CTM_REFERENCE_DIR to a checkout of the reference repository)'
  script = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'ctm_reference_peer.py')
  proc = subprocess.run([python, script, ref_dir, str(repeats), json.dumps(WORKLOAD)], capture_output=True, text=True)
  if proc.returncode != 0:
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ['?']
    if 'No module named' in tail[0] and 'torch' in tail[0]:
      return 'peer not installed (torch)'
    return f'peer failed: {tail[0][:160]}'
  result = json.loads(proc.stdout.strip().splitlines()[-1])
  return result['train_ms'], result['forward_ms']


def paired_rounds(rounds: int, repeats: int) -> list[harness.Row]:
  """Ours and the reference timed alternately, `rounds` times. Each row's ratio is that of the two sides' medians over
  the rounds; its note gives the median of the per-round ratios (the paired statistic the READMEs quote first).

  On a shared virtual machine the speed drifts by 20-50% over minutes (the same code measured 31 and 48 ms within an
  hour), so one measurement of each side can catch them in different phases; alternating and pairing cancels most
  of that. Rows hold the medians over rounds; extra['round_ratios'] each round's reference/ours.
  """
  per_round = []
  for _ in range(rounds):
    ref = reference_ms(repeats)
    if not isinstance(ref, tuple):
      raise SystemExit(f'--rounds needs the reference peer: {ref}')
    per_round.append((ours_train_step_ms(repeats), ours_forward_ms(repeats), *ref))
  device, rows = jax.devices()[0].platform, []
  for name, i in ((f'ctm {label()} train step b64 ({device})', 0), (f'ctm {label()} forward b256 ({device})', 1)):
    ours = statistics.median(r[i] for r in per_round)
    peer = statistics.median(r[i + 2] for r in per_round)
    ratios = [r[i + 2] / r[i] for r in per_round]
    note = f'{rounds} alternating rounds; median of per-round ratios {statistics.median(ratios):.2f}x'
    rows.append(harness.Row(name, ours, PEER, peer, note, {'round_ratios': ratios}))
  return rows


def run(quick: bool = False) -> list[harness.Row]:
  repeats = 5 if quick else 30
  train_ms, fwd_ms = ours_train_step_ms(repeats), ours_forward_ms(repeats)
  default_ms = ours_train_step_ms(repeats, options=None)  # what common.ctm gives without the configs' options
  no_remat_ms = ours_train_step_ms(repeats, remat_ticks=False)  # every tick's intermediates saved, none recomputed
  bf16_train_ms = ours_train_step_ms(repeats, compute_dtype='bfloat16')
  bf16_fwd_ms = ours_forward_ms(repeats, compute_dtype='bfloat16')
  ref = reference_ms(repeats)
  device = jax.devices()[0].platform
  rows = []
  for name, ours, key in (
    (f'ctm {label()} train step b64 ({device})', train_ms, 'train'),
    (f'ctm {label()} forward b256 ({device})', fwd_ms, 'forward'),
  ):
    if isinstance(ref, tuple):
      peer_ms = ref[0] if key == 'train' else ref[1]
      rows.append(harness.Row(name, ours, PEER, peer_ms, 'measured here, same machine'))
    else:
      rows.append(harness.Row(name, ours, PEER, None, f'{ref}; issue quotes {QUOTED[key]:.0f} ms (not measured here)'))
  rows[0].extra['goal_ms'] = 27.0
  peer_train = ref[0] if isinstance(ref, tuple) else None
  peer_fwd = ref[1] if isinstance(ref, tuple) else None
  rows.append(
    harness.Row(
      f'ctm {label()} train step b64, XLA defaults ({device})',
      default_ms,
      PEER,
      peer_train,
      'without configs/base/xla_cpu_small_ops.gin',
    )
  )
  rows.append(
    harness.Row(
      f'ctm {label()} train step b64, remat_ticks=False ({device})',
      no_remat_ms,
      PEER,
      peer_train,
      'CTM.remat_ticks=False: no tick recomputed in the backward pass',
    )
  )
  for name, ours, peer in (('train step b64', bf16_train_ms, peer_train), ('forward b256', bf16_fwd_ms, peer_fwd)):
    note = 'CTM.compute_dtype=bfloat16 (synapses, attention); the reference in float32'
    rows.append(harness.Row(f'ctm {label()} {name}, bfloat16 ({device})', ours, PEER, peer, note))
  return rows


if __name__ == '__main__':
  chosen = [a.split('=', 1)[1] for a in sys.argv[1:] if a.startswith('--workload=')] or ['parity16']
  if chosen[0] not in WORKLOADS:
    raise SystemExit(f'--workload={chosen[0]} is unknown; choose one of {", ".join(WORKLOADS)}.')
  WORKLOAD = WORKLOADS[chosen[0]]
  suffix = '' if chosen[0] == 'parity16' else f'_{chosen[0]}'
  rounds = [int(a.split('=', 1)[1]) for a in sys.argv[1:] if a.startswith('--rounds=')]
  if rounds:
    rows, name = paired_rounds(rounds[0], 5 if '--quick' in sys.argv else 15), f'ctm{suffix}_rounds.json'
  else:
    rows, name = run(quick='--quick' in sys.argv), f'ctm{suffix}.json'
  print(harness.format_table(rows))
  harness.write_json(rows, os.path.join(os.path.dirname(__file__), 'results', name))
