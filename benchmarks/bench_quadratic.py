"""Quadratic-neuron speed: train step (forward, backward, Adam) of the trainability MLP and of a QuadraticConv.

Workloads (float32, CPU):
  mlp:  QuadraticMLP 64-64-64 (fan form) + linear head on 8x8 digits-shaped input, batch 64; and the conventional
        MLP of the same widths (the cost of the 3x parameters).
  conv: QuadraticConv 3x3, 16 -> 32 channels on 16x16 images, batch 32; and nn.Conv of the same shape.

Peer: the same quadratic layer written in PyTorch eager (the form of the authors' ReLinear QResNet layer,
`conv_r(x) * conv_g(x) + conv_b(x**2)`; our own few lines, not the authors' code), run in a separate Python that
has torch: $QUAD_PEER_PYTHON (default /tmp/bench-quadratic-venv/bin/python; see
benchmarks/requirements-quadratic.txt). Without it the rows say 'peer not installed'.

  .venv/bin/python -m benchmarks.bench_quadratic [--quick]
"""

import json
import os
import subprocess
import sys

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from benchmarks import harness
from common.models.mlp import MLP
from common.quadratic import QuadraticConv, QuadraticMLP

PEER_PYTHON = os.environ.get('QUAD_PEER_PYTHON', '/tmp/bench-quadratic-venv/bin/python')

_PEER_SCRIPT = r"""
import json, statistics, sys, time, torch
torch.set_num_threads(1)
kind, repeats = sys.argv[1], int(sys.argv[2])
class QLinear(torch.nn.Module):
  def __init__(s, i, o):
    super().__init__(); s.r, s.g, s.b = torch.nn.Linear(i, o), torch.nn.Linear(i, o), torch.nn.Linear(i, o)
  def forward(s, x): return s.r(x) * s.g(x) + s.b(x * x)
class QConv(torch.nn.Module):
  def __init__(s, i, o):
    super().__init__(); s.r, s.g, s.b = (torch.nn.Conv2d(i, o, 3, padding=1) for _ in range(3))
  def forward(s, x): return s.r(x) * s.g(x) + s.b(x * x)
if kind == 'mlp':
  layers = []
  for i, o in ((64, 64), (64, 64), (64, 64)): layers += [QLinear(i, o), torch.nn.ReLU()]
  model, x, y = torch.nn.Sequential(*layers, torch.nn.Linear(64, 10)), torch.randn(64, 64), torch.randint(0, 10, (64,))
else:
  model, x = QConv(16, 32), torch.randn(32, 16, 16, 16)
opt = torch.optim.Adam(model.parameters(), 1e-3)
def step():
  opt.zero_grad()
  out = model(x)
  loss = torch.nn.functional.cross_entropy(out, y) if kind == 'mlp' else out.square().mean()
  loss.backward(); opt.step()
for _ in range(3): step()
times = []
for _ in range(repeats):
  t = time.perf_counter(); step(); times.append((time.perf_counter() - t) * 1e3)
print(json.dumps(statistics.median(times)))
"""


def _peer(kind: str, repeats: int):
  if not os.path.exists(PEER_PYTHON):
    return None, 'peer not installed'
  try:
    out = subprocess.run(
      [PEER_PYTHON, '-c', _PEER_SCRIPT, kind, str(repeats)], capture_output=True, text=True, timeout=300, check=True
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1])), 'torch eager, 1 thread'
  except (subprocess.SubprocessError, ValueError, IndexError) as e:
    return None, f'peer failed: {type(e).__name__}'


def _train_step_ms(model, x, loss_fn, repeats):
  params = model.init(jax.random.PRNGKey(0), x)['params']
  tx = optax.adam(1e-3)
  opt_state = tx.init(params)

  @jax.jit
  def step(params, opt_state):
    grads = jax.grad(lambda p: loss_fn(model.apply({'params': p}, x)))(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state

  state = [params, opt_state]

  def run():
    state[0], state[1] = step(state[0], state[1])
    return state[0]

  return harness.time_fn(run, repeats=repeats)


def run(quick: bool = False) -> list[harness.Row]:
  repeats = 5 if quick else 30
  rows = []
  x = jnp.ones((64, 8, 8, 1))
  y = jnp.arange(64) % 10
  ce = lambda logits: optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()  # noqa: E731
  peer_ms, note = _peer('mlp', repeats)
  rows.append(
    harness.Row(
      'QuadraticMLP 64x3 train step, batch 64', _train_step_ms(QuadraticMLP(hidden=(64, 64, 64)), x, ce, repeats),
      'torch', peer_ms, note,
    )
  )  # fmt: skip
  rows.append(
    harness.Row('conventional MLP 64x3 train step, batch 64', _train_step_ms(MLP(hidden=(64,) * 3), x, ce, repeats))
  )
  img = jnp.ones((32, 16, 16, 16))
  sq = lambda out: jnp.mean(out**2)  # noqa: E731
  peer_ms, note = _peer('conv', repeats)
  rows.append(
    harness.Row('QuadraticConv 3x3 16->32, 16x16, batch 32', _train_step_ms(QuadraticConv(32), img, sq, repeats),
                'torch', peer_ms, note)
  )  # fmt: skip
  rows.append(harness.Row('nn.Conv 3x3 16->32, 16x16, batch 32', _train_step_ms(nn.Conv(32, (3, 3)), img, sq, repeats)))
  return rows


if __name__ == '__main__':
  rows = run(quick='--quick' in sys.argv)
  print(harness.format_table(rows))
  harness.write_json(rows, os.path.join(os.path.dirname(__file__), 'results', 'quadratic.json'))
