"""KAN speed: our KANDense stack vs pykan and jaxkan, float32 on CPU, measured side by side in one run.

Workloads (issue 3): (1) a training step (forward, backward, Adam update, MSE) of a KAN with widths
[64, 128, 128, 16], batch 512, grid 5, order 3; (2) the forward pass of the same KAN at batch 4096.
FLOPs are the GEMM FLOPs of the basis-then-contraction form: forward 2 * B * sum_l in_l * (G + k + 1) * out_l,
training step 3x forward (about 0.74 GFLOP at batch 512); a jitted float32 matmul of the same size is timed too,
as the machine's ceiling. Peers run in their own venv (benchmarks/requirements-kan.txt) through
benchmarks/kan_peers.py; without it the rows say "peer not installed".

(3) The cost of Kolmogorov-Arnold attention (projects/kan_attention): the train step of the tiny digits ViT of
configs/kan_attention/vit_digits.gin (common.train.loop.make_train_step: batch gathered on device, forward, backward,
Adam), batch 64, with each Fourier-KArAt variant against softmax attention in the same run. `peer` is our softmax
ViT, so the ratio (softmax ms / KArAt ms) is below 1 when KArAt is slower; extra holds XLA's temporary memory of
each compiled step (memory_analysis().temp_size_in_bytes) and the parameter counts.

  .venv/bin/python -m benchmarks.bench_kan [--quick]
"""

import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import optax

from benchmarks import harness
from common.data import pipeline
from common.kan.layers import KAN
from common.kan.vit import ViT
from common.train import loop, tasks
from common.train import state as state_lib

WIDTHS = (64, 128, 128, 16)
GRID, ORDER = 5, 3
TRAIN_BATCH, FORWARD_BATCH = 512, 4096
PEER_PYTHON = os.environ.get('KAN_PEER_PYTHON', '/tmp/bench-kan-venv/bin/python')


def forward_flops(batch: int) -> float:
  m = GRID + ORDER + 1  # bases + the base branch
  return 2.0 * batch * sum(a * m * b for a, b in zip(WIDTHS[:-1], WIDTHS[1:]))


def ours(repeats: int, uniform_grid: bool = True) -> tuple[float, float]:
  model = KAN(widths=WIDTHS[1:], grid_size=GRID, order=ORDER, uniform_grid=uniform_grid)
  key = jax.random.PRNGKey(0)
  x = jax.random.uniform(key, (TRAIN_BATCH, WIDTHS[0]), minval=-1, maxval=1)
  y = jax.random.normal(key, (TRAIN_BATCH, WIDTHS[-1]))
  variables = model.init(key, x[:2])
  params, grid = variables['params'], {'kan_grid': variables['kan_grid']}
  tx = optax.adam(1e-3)

  @jax.jit
  def train_step(params, opt_state, x, y):
    def loss_fn(p):
      return jnp.mean((model.apply({'params': p, **grid}, x) - y) ** 2)

    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  state = [params, tx.init(params)]

  def step():
    state[0], state[1], loss = train_step(state[0], state[1], x, y)
    return loss

  train_ms = harness.time_fn(step, warmup=3, repeats=repeats)
  xf = jax.random.uniform(key, (FORWARD_BATCH, WIDTHS[0]), minval=-1, maxval=1)
  fwd = jax.jit(lambda p, x: model.apply({'params': p, **grid}, x))
  forward_ms = harness.time_fn(lambda: fwd(state[0], xf), warmup=2, repeats=max(5, repeats // 2))
  return train_ms, forward_ms


def matmul_ceiling(repeats: int) -> float:
  """GFLOP/s of one jitted float32 GEMM of the widest layer's contraction shape (batch 4096)."""
  k = WIDTHS[1] * (GRID + ORDER + 1)
  a = jnp.ones((FORWARD_BATCH, k), jnp.float32)
  b = jnp.ones((k, WIDTHS[2]), jnp.float32)
  mm = jax.jit(jnp.matmul)
  ms = harness.time_fn(lambda: mm(a, b), warmup=3, repeats=repeats)
  return 2.0 * FORWARD_BATCH * k * WIDTHS[2] / (ms * 1e6)


def peers(repeats: int) -> dict:
  if not os.path.exists(PEER_PYTHON):
    return {}
  cfg = {
    'widths': WIDTHS,
    'grid': GRID,
    'order': ORDER,
    'train_batch': TRAIN_BATCH,
    'forward_batch': FORWARD_BATCH,
    'warmup': 2,
    'repeats': repeats,
    'threads': os.cpu_count() or 1,
    'peers': ['pykan', 'jaxkan'],
  }
  script = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'kan_peers.py')
  proc = subprocess.run([PEER_PYTHON, script, json.dumps(cfg)], capture_output=True, text=True)
  if proc.returncode != 0:
    return {'pykan': {'error': proc.stderr[-300:]}, 'jaxkan': {'error': proc.stderr[-300:]}}
  return json.loads(proc.stdout.strip().splitlines()[-1])


# The variants of configs/kan_attention/sweeps/variants.py (ViT keyword arguments).
VIT_VARIANTS = {
  'softmax': {'attention': 'softmax'},
  'karat_g3_r8_blockwise': {'attention': 'karat', 'karat_grid': 3, 'karat_rank': 8, 'karat_mode': 'blockwise'},
  'karat_g3_r8_universal': {'attention': 'karat', 'karat_grid': 3, 'karat_rank': 8, 'karat_mode': 'universal'},
  'karat_g3_full_blockwise': {'attention': 'karat', 'karat_grid': 3, 'karat_rank': None, 'karat_mode': 'blockwise'},
}
VIT_BATCH = 64


def vit_step(variant: str, repeats: int) -> tuple[float, float, int]:
  """(median ms, temporary MiB, parameters) of one train step of the digits ViT with `variant`'s attention."""
  model = ViT(patch=2, dim=64, depth=2, num_heads=4, num_classes=10, **VIT_VARIANTS[variant])
  task = tasks.ClassificationTask(pipeline.load_tfds('sklearn_digits', scale=1 / 16), batch_size=VIT_BATCH)
  tx = optax.adam(1e-3)
  state = state_lib.create_state(state_lib.init_variables(model, task.init_inputs(), jax.random.PRNGKey(0)), tx)
  arrays = jax.device_put(task.train_arrays())
  keys = jax.random.PRNGKey(1), jax.random.PRNGKey(2)
  compiled = jax.jit(loop.make_train_step(model, task, tx)).lower(state, arrays, *keys).compile()
  memory = compiled.memory_analysis()
  temp_mib = getattr(memory, 'temp_size_in_bytes', float('nan')) / 2**20 if memory is not None else float('nan')
  holder = [state]

  def step():
    holder[0], metrics = compiled(holder[0], arrays, *keys)
    return metrics

  ms = harness.time_fn(step, warmup=3, repeats=repeats)
  return ms, temp_mib, state_lib.count_params(state['params'])


def vit_attention_rows(repeats: int) -> list[harness.Row]:
  measured = {v: vit_step(v, repeats) for v in VIT_VARIANTS}
  soft_ms, soft_mib, soft_params = measured['softmax']
  rows = []
  for variant, (ms, mib, params) in measured.items():
    workload = f'ViT digits train step B={VIT_BATCH} {variant}'
    extra = {'temp_mib': round(mib, 2), 'num_params': params}
    if variant == 'softmax':
      rows.append(harness.Row(workload, ms, note=f'temp {mib:.2f} MiB, {params} params', extra=extra))
      continue
    extra.update({'softmax_temp_mib': round(soft_mib, 2), 'softmax_num_params': soft_params})
    note = f'peer = our softmax ViT; temp {mib:.2f} MiB vs {soft_mib:.2f} MiB, {params} vs {soft_params} params'
    rows.append(harness.Row(workload, ms, 'softmax (ours)', soft_ms, note, extra))
  return rows


def run(quick: bool = False) -> list[harness.Row]:
  repeats = 5 if quick else 20
  load_before = os.getloadavg()[0]
  train_ms, forward_ms = ours(repeats)
  general_train_ms, general_forward_ms = ours(repeats, uniform_grid=False)  # Cox-de Boor (any grid)
  ceiling = matmul_ceiling(repeats)
  train_gflops = 3 * forward_flops(TRAIN_BATCH) / (train_ms * 1e6)
  fwd_gflops = forward_flops(FORWARD_BATCH) / (forward_ms * 1e6)
  results = peers(max(3, repeats // 2))
  load = f'{load_before:.2f} -> {os.getloadavg()[0]:.2f}'  # 1-minute load average before ours -> after the peers
  rows = []
  for workload, ms, gflops, key in (
    (f'train step {list(WIDTHS)} B={TRAIN_BATCH} G={GRID} k={ORDER}', train_ms, train_gflops, 'train_ms'),
    (f'forward {list(WIDTHS)} B={FORWARD_BATCH}', forward_ms, fwd_gflops, 'forward_ms'),
  ):
    general = general_train_ms if key == 'train_ms' else general_forward_ms
    extra = {
      'gflops_per_s': round(gflops, 1),
      'matmul_gflops_per_s': round(ceiling, 1),
      'ours_general_grid_ms': round(general, 2),
      'load_average_1min': load,
    }
    note = f'{gflops:.1f} GFLOP/s ({gflops / ceiling:.0%} of matmul)'
    if not results:
      rows.append(harness.Row(workload, ms, 'pykan/jaxkan', None, note + '; peer not installed', extra))
    for peer in ('pykan', 'jaxkan', 'jaxkan-spline'):
      r = results.get(peer)
      if r is None:
        continue
      if 'error' in r:
        rows.append(harness.Row(workload, ms, peer, None, f'{note}; {r["error"][:80]}', extra))
      else:
        rows.append(harness.Row(workload, ms, peer, r[key], f'{note}; {peer} {r["version"]}', extra))
  return rows + vit_attention_rows(repeats)


if __name__ == '__main__':
  rows = run(quick='--quick' in sys.argv)
  print(harness.format_table(rows))
  harness.write_json(rows, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'results', 'kan.json'))
