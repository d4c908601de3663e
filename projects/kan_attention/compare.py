"""Tiny ViT on 8x8 digits: softmax attention vs Fourier-KArAt variants, seeds vmapped, plus time and memory per step.

Variants are names: 'softmax' or 'karat_g<G>_<full|r<R>>_<blockwise|universal>', e.g. 'karat_g3_r8_blockwise'.
For each variant the seeds train side by side (jax.vmap over seeds, lax.scan over steps, Adam, cross-entropy) and
the test accuracy is tabulated; a single-seed jitted train step is timed (median of `timing_repeats`) and its
compiled temporary memory read from XLA's memory analysis. Writes <workdir>/results.{json,md,png}.
"""

import json
import os
import re
import statistics
import time
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from common.data import pipeline
from common.kan import fast_init
from common.kan.vit import ViT
from common.train import state as state_lib
from common.train.errors import ConfigurationError

_KARAT = re.compile(r'^karat_g(\d+)_(full|r\d+)_(blockwise|universal)$')


def build(variant: str, dim: int, depth: int, num_heads: int) -> ViT:
  if variant == 'softmax':
    return ViT(patch=2, dim=dim, depth=depth, num_heads=num_heads, attention='softmax')
  m = _KARAT.match(variant)
  if not m:
    raise ConfigurationError(
      f"compare.variants has {variant!r}; use 'softmax' or 'karat_g<G>_<full|r<R>>_<blockwise|universal>'."
    )
  rank = None if m.group(2) == 'full' else int(m.group(2)[1:])
  return ViT(
    patch=2,
    dim=dim,
    depth=depth,
    num_heads=num_heads,
    attention='karat',
    karat_grid=int(m.group(1)),
    karat_rank=rank,
    karat_mode=m.group(3),
  )


def run(
  *,
  variants: Sequence[str] = ('softmax', 'karat_g3_full_blockwise', 'karat_g3_r8_blockwise', 'karat_g3_r8_universal'),
  num_seeds: int = 5,
  num_steps: int = 1500,
  batch_size: int = 64,
  learning_rate: float = 1e-3,
  dim: int = 64,
  depth: int = 2,
  num_heads: int = 4,
  timing_repeats: int = 20,
  max_variants: int | None = None,
  seed: int,
  workdir: str,
  dry_run: bool = False,
) -> dict[str, Any]:
  """Trains every variant for num_seeds seeds (seed, seed+1, ...); max_variants (smoke runs; configs bind it to the
  MAX_VARIANTS macro that configs/base/cpu_debug.gin sets) keeps only the first that many variants."""
  if max_variants is not None:
    if max_variants < 1:
      raise ConfigurationError(f'compare.run: max_variants={max_variants} must be at least 1 (or None for all).')
    variants = tuple(variants)[:max_variants]
  models = {v: build(v, dim, depth, num_heads) for v in variants}
  if num_seeds < 1 or num_steps < 1:
    raise ConfigurationError(f'compare.run: num_seeds={num_seeds} and num_steps={num_steps} must be positive.')
  ds = pipeline.load_tfds('sklearn_digits', scale=1 / 16)
  if dry_run:
    out = {}
    for v, model in models.items():
      shapes = jax.eval_shape(lambda m=model: state_lib.init_variables(m, jnp.zeros((2, 8, 8, 1)), jax.random.key(0)))
      out[f'{v}/num_params'] = state_lib.count_params(shapes['params'])
      print(v, out[f'{v}/num_params'])
    return out
  x_tr, y_tr = jnp.asarray(ds.train['inputs']), jnp.asarray(ds.train['targets'])
  x_te, y_te = jnp.asarray(ds.eval['inputs']), jnp.asarray(ds.eval['targets'])
  tx = optax.adam(optax.warmup_cosine_decay_schedule(0.0, learning_rate, max(1, num_steps // 20), num_steps))
  results, flat = {}, {}
  for v, model in models.items():

    def loss_fn(params, idx, model=model):
      logits = model.apply({'params': params}, x_tr[idx])
      return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, y_tr[idx]))

    def step(params, opt, key, loss_fn=loss_fn):
      idx = jax.random.randint(key, (batch_size,), 0, x_tr.shape[0])
      grads = jax.grad(loss_fn)(params, idx)
      updates, opt = tx.update(grads, opt, params)
      return optax.apply_updates(params, updates), opt

    def init(key, model=model):
      return state_lib.init_variables(model, x_tr[:2], jax.random.fold_in(key, 0))['params']

    def train_one(params, key, model=model, step=step):
      body = lambda c, i, key=key: (step(*c, jax.random.fold_in(key, i + 1)), None)  # noqa: E731
      (params, _), _ = jax.lax.scan(body, (params, tx.init(params)), jnp.arange(num_steps))
      return jnp.mean(jnp.argmax(model.apply({'params': params}, x_te), -1) == y_te)

    keys = jax.vmap(jax.random.PRNGKey)(jnp.arange(seed, seed + num_seeds))
    t0 = time.perf_counter()
    initial = fast_init.run_init(jax.vmap(init), keys)
    acc = np.asarray(jax.jit(jax.vmap(train_one))(initial, keys), np.float64)
    secs = time.perf_counter() - t0

    params = jax.tree_util.tree_map(lambda a: a[0], initial)  # the first seed's initial parameters
    opt = tx.init(params)
    jstep = jax.jit(step).lower(params, opt, jax.random.PRNGKey(0)).compile()  # timed and measured: one compile
    mem = jstep.memory_analysis()
    temp_mb = getattr(mem, 'temp_size_in_bytes', 0) / 2**20 if mem is not None else float('nan')
    p, o = jstep(params, opt, jax.random.PRNGKey(0))
    jax.block_until_ready(p)
    times = []
    for r in range(timing_repeats):
      t = time.perf_counter()
      p, o = jstep(p, o, jax.random.PRNGKey(r))
      jax.block_until_ready(p)
      times.append((time.perf_counter() - t) * 1e3)
    results[v] = {
      'accuracy': acc.tolist(),
      'mean': float(acc.mean()),
      'std': float(acc.std()),
      'num_params': state_lib.count_params(params),
      'step_ms': statistics.median(times),
      'temp_mb': temp_mb,
      'train_seconds_all_seeds': secs,
      'num_steps': num_steps,
    }
    flat[f'{v}/accuracy'] = float(acc.mean())
    print(
      f'{v:28s} acc={acc.mean():.4f} +- {acc.std():.3f} step={results[v]["step_ms"]:.2f}ms temp={temp_mb:.2f}MiB',
      flush=True,
    )
    _write(results, num_seeds, num_steps, workdir)
  return flat


def _write(results, num_seeds, num_steps, workdir) -> None:
  os.makedirs(workdir, exist_ok=True)
  with open(os.path.join(workdir, 'results.json'), 'w') as f:
    json.dump(results, f, indent=2)
  lines = [
    f'Digits test accuracy, mean +- std over {num_seeds} seeds, {num_steps} steps; time per train step (batch, '
    'single seed, median) and XLA temporary memory of the compiled step.',
    '',
    '| variant | accuracy | params | ms / step | temp MiB |',
    '|---|---|---|---|---|',
  ]
  for v, r in results.items():
    lines.append(
      f'| {v} | {r["mean"]:.4f} +- {r["std"]:.3f} | {r["num_params"]} | {r["step_ms"]:.2f} | {r["temp_mb"]:.2f} |'
    )
  with open(os.path.join(workdir, 'results.md'), 'w') as f:
    f.write('\n'.join(lines) + '\n')
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
  names = list(results)
  axes[0].bar(range(len(names)), [results[n]['mean'] for n in names], yerr=[results[n]['std'] for n in names])
  axes[0].set_ylim(min(results[n]['mean'] for n in names) - 0.05, 1.0)
  axes[0].set_title('test accuracy')
  axes[1].bar(range(len(names)), [results[n]['step_ms'] for n in names])
  axes[1].set_title('ms / train step')
  for ax in axes:
    ax.set_xticks(range(len(names)), names, rotation=30, fontsize=7, ha='right')
  fig.tight_layout()
  fig.savefig(os.path.join(workdir, 'results.png'), dpi=80)
  plt.close(fig)
