"""Peer KAN timings (pykan, jaxkan), run inside the peer venv by bench_kan.py; prints one JSON object.

Standalone on purpose (imports nothing from this repo): the peers live in their own environment
(benchmarks/requirements-kan.txt, e.g. /tmp/bench-kan-venv). Usage:
  /tmp/bench-kan-venv/bin/python benchmarks/kan_peers.py '{"widths": [64,128,128,16], ...}'
"""

import json
import statistics
import sys
import time


def _median_ms(fn, warmup, repeats):
  for _ in range(warmup):
    fn()
  times = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    fn()
    times.append((time.perf_counter() - t0) * 1e3)
  return statistics.median(times)


def bench_pykan(cfg):
  import numpy as np
  import torch
  from kan import KAN

  torch.set_num_threads(cfg['threads'])
  widths, g, k = cfg['widths'], cfg['grid'], cfg['order']
  model = KAN(width=list(widths), grid=g, k=k, seed=0, auto_save=False, device='cpu')
  model.speed()  # symbolic branch, activation saving and auto-save off: pykan's own fast mode
  rng = np.random.default_rng(0)
  x = torch.tensor(rng.uniform(-1, 1, (cfg['train_batch'], widths[0])), dtype=torch.float32)
  y = torch.tensor(rng.normal(size=(cfg['train_batch'], widths[-1])), dtype=torch.float32)
  opt = torch.optim.Adam(model.parameters(), lr=1e-3)

  def step():
    opt.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    opt.step()

  xf = torch.tensor(rng.uniform(-1, 1, (cfg['forward_batch'], widths[0])), dtype=torch.float32)

  def forward():
    with torch.no_grad():
      model(xf)

  return {
    'train_ms': _median_ms(step, cfg['warmup'], cfg['repeats']),
    'forward_ms': _median_ms(forward, 1, max(3, cfg['repeats'] // 4)),
    'version': __import__('importlib.metadata').metadata.version('pykan'),
  }


def bench_jaxkan(cfg, layer_type):
  import jax
  import jax.numpy as jnp
  import optax
  from flax import nnx
  from jaxkan.models.KAN import KAN

  widths, g, k = cfg['widths'], cfg['grid'], cfg['order']
  model = KAN(layer_dims=list(widths), layer_type=layer_type, required_parameters={'k': k, 'G': g}, seed=0)
  opt = nnx.Optimizer(model, optax.adam(1e-3), wrt=nnx.Param)
  key = jax.random.PRNGKey(0)
  x = jax.random.uniform(key, (cfg['train_batch'], widths[0]), minval=-1, maxval=1)
  y = jax.random.normal(key, (cfg['train_batch'], widths[-1]))

  @nnx.jit
  def train_step(model, opt, x, y):
    def loss_fn(model):
      return jnp.mean((model(x) - y) ** 2)

    loss, grads = nnx.value_and_grad(loss_fn)(model)
    opt.update(model, grads)
    return loss

  xf = jax.random.uniform(key, (cfg['forward_batch'], widths[0]), minval=-1, maxval=1)
  forward = nnx.jit(lambda model, x: model(x))
  return {
    'train_ms': _median_ms(lambda: jax.block_until_ready(train_step(model, opt, x, y)), cfg['warmup'], cfg['repeats']),
    'forward_ms': _median_ms(lambda: jax.block_until_ready(forward(model, xf)), 2, max(3, cfg['repeats'] // 2)),
    'version': __import__('importlib.metadata').metadata.version('jaxkan'),
  }


def main():
  cfg = json.loads(sys.argv[1])
  out = {}
  for name, fn in (
    ('pykan', bench_pykan),
    ('jaxkan', lambda c: bench_jaxkan(c, 'base')),
    ('jaxkan-spline', lambda c: bench_jaxkan(c, 'spline')),
  ):
    if name.split('-')[0] not in cfg['peers']:
      continue
    try:
      out[name] = fn(cfg)
    except ImportError as e:
      out[name] = {'error': f'peer not installed: {e}'}
    except Exception as e:  # a peer's API change should not stop the others
      out[name] = {'error': f'{type(e).__name__}: {e}'}
  print(json.dumps(out))


if __name__ == '__main__':
  main()
