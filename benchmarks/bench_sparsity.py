"""Sparsity family benchmark: a G2G layer's train step, block-sparse storage vs masked dense vs dense, same run.

Workload: one linear layer y = x W (n x n, batch B), loss sum(y^2) / B, gradient and an SGD update, jitted.
  block-sparse  G2G with index grouping stored as its k connected blocks per target ensemble
                (common/sparsity/block_sparse.py: k/G of the multiply-adds and parameters)
  masked dense  x @ (W * M), how MaskedDense trains (any mask; what DST needs)
  dense         x @ W, the unmasked layer
Rows: block-sparse (ours) against masked dense (peer), and masked dense (ours) against dense (peer); the dense time
is also in every row's note. No external peer library: the comparison is between the two ways this repo can
compute the same sparse layer.

  python -m benchmarks.bench_sparsity [--quick]
"""

import argparse
import os
import statistics

import jax
import jax.numpy as jnp

from benchmarks import harness
from common.sparsity import block_sparse

GROUPS = 8


def _step(forward, weights, x):
  """A jitted SGD step on `weights` for loss sum(forward(x, weights)^2) / B; returns a closure that runs it."""

  @jax.jit
  def step(w):
    loss, grad = jax.value_and_grad(lambda w: jnp.sum(forward(x, w) ** 2) / x.shape[0])(w)
    return jax.tree_util.tree_map(lambda p, g: p - 1e-3 * g, w, grad), loss

  state = {'w': weights}

  def run_once():
    state['w'], loss = step(state['w'])
    return loss

  return run_once


def _layer_fns(n: int, batch: int, sparsity: float):
  key = jax.random.PRNGKey(0)
  mask, sources = block_sparse.g2g_index_layer(key, n, n, sparsity=sparsity, num_ensembles=GROUPS)
  kernel = jax.random.normal(jax.random.fold_in(key, 1), (n, n)) / jnp.sqrt(n)
  x = jax.random.normal(jax.random.fold_in(key, 2), (batch, n))
  sources = jnp.asarray(sources)
  blocks = block_sparse.blocks_from_dense(kernel, sources)
  return {
    'block': _step(lambda x, w: block_sparse.block_sparse_matmul(x, w, sources), blocks, x),
    'masked': _step(lambda x, w: block_sparse.masked_matmul(x, w, mask), kernel, x),
    'dense': _step(lambda x, w: x @ w, kernel, x),
  }


def run(quick: bool = False) -> list[harness.Row]:
  sizes = [(256, 64), (1024, 256)] if quick else [(256, 64), (1024, 256), (4096, 256)]
  repeats = 5 if quick else 30
  rows = []
  for n, batch in sizes:
    for sparsity in (0.5, 0.75):
      fns = _layer_fns(n, batch, sparsity)
      for fn in fns.values():
        harness.time_fn(fn, warmup=2, repeats=1)
      # Round-robin: the machine may be shared, so every variant sees the same load; median per variant.
      times = {k: [] for k in fns}
      for _ in range(repeats):
        for k, fn in fns.items():
          times[k].append(harness.time_fn(fn, warmup=0, repeats=1))
      t = {k: statistics.median(v) for k, v in times.items()}
      workload = f'G2G {n}x{n} B={batch} sparsity {sparsity:g} train step'
      note = f'dense {t["dense"]:.3f} ms; G={GROUPS}'
      rows.append(harness.Row(workload, t['block'], 'masked dense', t['masked'], note=f'block-sparse; {note}'))
      rows.append(harness.Row(workload, t['masked'], 'dense', t['dense'], note=f'masked dense; {note}'))
  return rows


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument('--quick', action='store_true')
  args = parser.parse_args()
  rows = run(quick=args.quick)
  print(harness.format_table(rows))
  harness.write_json(rows, os.path.join(os.path.dirname(__file__), 'results', 'sparsity.json'))


if __name__ == '__main__':
  main()
