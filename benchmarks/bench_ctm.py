"""CTM speed: the issue's parity-16 workload, train step (forward, backward, AdamW) and forward only.

Workload: D=256, d_input=64, heads=4, T=16, M=8, n_synch_out=n_synch_action=32, synapse depth 1, NLM hidden 8,
deep NLMs, random-pairing, float32; train step at batch 64, forward at batch 256.

Peer: the reference PyTorch implementation (SakanaAI/continuous-thought-machines, models/ctm.py) when torch is
importable and CTM_REFERENCE_DIR points at a checkout of that repository (not a dependency of this repo; see
benchmarks/requirements-ctm.txt). Without it, rows say 'peer not installed' and quote the issue's reference numbers
(109 ms train step, 113 ms forward at batch 256, measured by the issue author on a 2-core CPU, not here).

  .venv/bin/python -m benchmarks.bench_ctm            # full: 30 timed steps per row
  .venv/bin/python -m benchmarks.bench_ctm --quick    # 5 timed steps
"""

import os
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import optax

from benchmarks import harness
from common.ctm.backbones import ParityBackbone
from common.ctm.ctm import CTM
from common.ctm.tasks import ParityTask
from common.train import loop

LENGTH = 16
WORKLOAD = dict(
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
  out_dims=2 * LENGTH,
  dropout=0.0,
)
QUOTED = {'train': 109.0, 'forward': 113.0}


def build(batch_size: int):
  model = CTM(**WORKLOAD, prediction_reshaper=(LENGTH, 2), backbone=ParityBackbone(WORKLOAD['d_input']))
  task = ParityTask(length=LENGTH, batch_size=batch_size)
  return model, task


def ours_train_step_ms(repeats: int) -> float:
  model, task = build(64)
  tx = optax.adamw(1e-4)
  params = jax.jit(model.init)(jax.random.PRNGKey(0), task.init_inputs())['params']
  state = {'step': jnp.zeros((), jnp.int32), 'params': params, 'model_state': {}, 'opt_state': tx.init(params)}
  step = jax.jit(loop.make_train_step(model, task, tx), donate_argnums=(0,))
  keys = jax.random.PRNGKey(1), jax.random.PRNGKey(2)
  box = [state]

  def run():
    box[0], metrics = step(box[0], {}, *keys)
    return metrics['loss']

  return harness.time_fn(run, warmup=3, repeats=repeats)


def ours_forward_ms(repeats: int) -> float:
  model, task = build(256)
  params = jax.jit(model.init)(jax.random.PRNGKey(0), task.init_inputs())['params']
  x = task.train_batch({}, jax.random.PRNGKey(3), 0)['inputs']
  fwd = jax.jit(lambda p, x: model.apply({'params': p}, x)['predictions'])
  return harness.time_fn(lambda: fwd(params, x), warmup=3, repeats=repeats)


def reference_ms(repeats: int):
  """Times the reference PyTorch CTM on the same workload; returns (train_ms, forward_ms) or a reason string."""
  ref_dir = os.environ.get('CTM_REFERENCE_DIR')
  try:
    import torch  # noqa: F401
  except ImportError:
    return 'peer not installed (torch)'
  if not ref_dir or not os.path.isdir(ref_dir):
    return 'peer not installed (set CTM_REFERENCE_DIR to a checkout of the reference repository)'
  import torch

  sys.path.insert(0, ref_dir)
  try:
    from models.ctm import ContinuousThoughtMachine
  except Exception as e:  # noqa: BLE001 - a broken checkout is reported, not raised
    return f'peer import failed: {e!r}'[:200]
  finally:
    sys.path.remove(ref_dir)

  def make():
    m = ContinuousThoughtMachine(
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
      do_layernorm_nlm=False,
      backbone_type='parity_backbone',
      positional_embedding_type='custom-rotational-1d',
      out_dims=2 * LENGTH,
      prediction_reshaper=[LENGTH, 2],
      dropout=0.0,
      neuron_select_type='random-pairing',
    )
    with torch.no_grad():
      m(torch.ones(2, LENGTH))  # materialise the lazy layers
    return m

  def bits(b):
    return (2 * torch.randint(0, 2, (b, LENGTH)) - 1).float()

  def timed(fn, warmup=3):
    for _ in range(warmup):
      fn()
    out = []
    for _ in range(repeats):
      t0 = time.perf_counter()
      fn()
      out.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(out)

  from utils.losses import parity_loss  # noqa: E402  (reference module, imported from CTM_REFERENCE_DIR)

  model = make()
  opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
  x, y = bits(64), None
  y = (torch.cumsum((x < 0).long(), 1) % 2).long()

  def train_step():
    preds, certs, _ = model(x)
    loss, _ = parity_loss(preds.reshape(64, LENGTH, 2, -1), certs, y)
    opt.zero_grad()
    loss.backward()
    opt.step()

  model.train()
  train_ms = timed(train_step)
  model.eval()
  xf = bits(256)

  def forward():
    with torch.no_grad():
      model(xf)

  return train_ms, timed(forward)


def run(quick: bool = False) -> list[harness.Row]:
  repeats = 5 if quick else 30
  train_ms, fwd_ms = ours_train_step_ms(repeats), ours_forward_ms(repeats)
  sys.path.insert(0, os.environ.get('CTM_REFERENCE_DIR', ''))
  ref = reference_ms(repeats)
  device = jax.devices()[0].platform
  rows = []
  for name, ours, key in (
    (f'ctm parity-16 train step b64 ({device})', train_ms, 'train'),
    (f'ctm parity-16 forward b256 ({device})', fwd_ms, 'forward'),
  ):
    if isinstance(ref, tuple):
      peer_ms = ref[0] if key == 'train' else ref[1]
      rows.append(harness.Row(name, ours, 'reference torch', peer_ms, 'measured here, same machine'))
    else:
      rows.append(
        harness.Row(
          name, ours, 'reference torch', None, f'{ref}; issue quotes {QUOTED[key]:.0f} ms (not measured here)'
        )
      )
  rows[0].extra['goal_ms'] = 27.0
  return rows


if __name__ == '__main__':
  rows = run(quick='--quick' in sys.argv)
  print(harness.format_table(rows))
  harness.write_json(rows, os.path.join(os.path.dirname(__file__), 'results', 'ctm.json'))
