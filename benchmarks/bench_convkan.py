"""ConvKAN speed: one training step of a KAN convolution (and S-ConvKAN's five-basis one) against a plain convolution
of the same shape, and against the patch-based way of computing a ConvKAN, float32 on CPU, all in one run.

Workload: inputs (64, 32, 32, 16) -> 32 channels, 3x3 kernel, SAME padding; a step is forward + backward of the mean
squared output + an Adam update, jitted. Ours (common/kan/conv.py) evaluates the bases on the feature map and does
one convolution with a (3, 3, (1 + M) 16, 32) kernel. Peers: flax's nn.Conv of the same shape (the floor: a ConvKAN
has 1 + M times its input channels), and the patch-based ConvKAN (extract 3x3x16 patches, apply a KANDense with 144
inputs to every position), which materialises the (B, H, W, 144 (1 + M)) feature tensor.

  .venv/bin/python -m benchmarks.bench_convkan [--quick]
"""

import os
import sys

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from benchmarks import harness
from common.kan.conv import KANConv, SKANConv
from common.kan.layers import KANDense

SHAPE = (64, 32, 32, 16)
OUT, KERNEL = 32, 3


class PatchKANConv(nn.Module):
  """The patch-based ConvKAN: 3x3 patches (SAME) then one KANDense on the k*k*C patch vector at every position."""

  features: int
  basis: str = 'bspline'

  @nn.compact
  def __call__(self, x):
    p = jax.lax.conv_general_dilated_patches(
      x, (KERNEL, KERNEL), (1, 1), 'SAME', dimension_numbers=('NHWC', 'HWIO', 'NHWC')
    )
    return KANDense(self.features, basis=self.basis)(p)


def step_ms(model, repeats: int) -> float:
  key = jax.random.PRNGKey(0)
  x = jax.random.uniform(key, SHAPE, minval=-1, maxval=1)
  variables = model.init(key, x[:1])
  params, rest = variables['params'], {k: v for k, v in variables.items() if k != 'params'}
  tx = optax.adam(1e-3)

  @jax.jit
  def train_step(params, opt_state, x):  # x is an argument: a captured constant would be constant-folded
    def loss_fn(p):
      return jnp.mean(model.apply({'params': p, **rest}, x) ** 2)

    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  state = [params, tx.init(params)]

  def run_once():
    state[0], state[1], loss = train_step(state[0], state[1], x)
    return loss

  return harness.time_fn(run_once, warmup=2, repeats=repeats)


def run(quick: bool = False) -> list[harness.Row]:
  repeats = 3 if quick else 10
  load_before = os.getloadavg()[0]
  conv_ms = step_ms(nn.Conv(OUT, (KERNEL, KERNEL), padding='SAME'), repeats)
  kan_ms = step_ms(KANConv(OUT, KERNEL), repeats)
  skan_ms = step_ms(SKANConv(OUT, KERNEL), repeats)
  patch_ms = step_ms(PatchKANConv(OUT), repeats)
  extra = {'load_average_1min': f'{load_before:.2f} -> {os.getloadavg()[0]:.2f}'}
  shape = f'{SHAPE[1]}x{SHAPE[2]}x{SHAPE[3]}->{OUT} 3x3 B={SHAPE[0]}'
  return [
    harness.Row(f'KANConv bspline train step {shape}', kan_ms, 'nn.Conv', conv_ms, 'floor: 9x the channels', extra),
    harness.Row(f'KANConv bspline train step {shape}', kan_ms, 'patch KANDense', patch_ms, 'same function', extra),
    harness.Row(f'SKANConv 5 bases train step {shape}', skan_ms, 'nn.Conv', conv_ms, '37x the channels', extra),
  ]


if __name__ == '__main__':
  rows = run(quick='--quick' in sys.argv)
  print(harness.format_table(rows))
  harness.write_json(rows, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'results', 'convkan.json'))
