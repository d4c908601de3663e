"""Input pipeline throughput: grain reading tfds.data_source (ours) vs tf.data on the same ArrayRecord files.

Both read the same records in the same order (common/data/order.py: global batches of a per-epoch permutation),
parse and decode TFDS's tf.train.Example records, do the same per-example work and stack batches:

  digits   sklearn_digits (8x8x1 uint8 tensor feature), batch 64: scale to [0, 1]
  32x32x3  the cifar10 stand-in (PNG; scikit-learn's digits upsampled, so the PNGs are smaller and decode faster
           than real CIFAR images), batch 128: zero-pad 4, random 32x32 crop, random flip, normalise

Ours: `streaming.TFDSStream(...).train_iterator(...)` with grain in this process or in 2 worker processes.
Peer: tf.data: batches of indices -> raw records read in one call (tf.numpy_function over the same data source with
RAW_BYTES) -> unbatch -> TFDS's TF parser and image decoder, and the same augmentation with TF's stateless random
ops, mapped with AUTOTUNE parallelism -> batch -> prefetch(AUTOTUNE).

Each row: milliseconds per batch (wall time of `num_batches` batches after `warmup` batches, so start-up and
worker spawn are excluded); examples per second in the note. Below 1 in the ratio column means tf.data is faster.

Train steps fed by the pipeline: the ViT of configs/kan_attention/paper_cifar10_vit_tiny_karat.gin and the CTM of
configs/ctm_paper/paper_cifar10.gin (built from those files by gin, batch 128 and 32), on the cifar10 stand-in. The
jitted step of common.train.loop.train for a streaming task is timed fed as the loop feeds it (each step: the next
batch from the task's grain iterator -> jax.make_array_from_process_local_data -> the step, dispatched
asynchronously) against the same step fed one batch already on the device. Rounds alternate the two so machine load
hits both; each row gives the median ms per step, and the note the pipeline's cost as a share of the step (the
target: at most 10 %).

  .venv/bin/python -m benchmarks.bench_data [--quick]    (writes benchmarks/results/data.json)
"""

import argparse
import os
import tempfile
import time

import numpy as np

from benchmarks import harness
from benchmarks.harness import Row

DATA_DIR = os.path.join(tempfile.gettempdir(), 'brainnets-bench-data')
MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


def _workloads():
  from common.data import preprocess

  return {
    'digits': dict(name='sklearn_digits', batch=64, transform=preprocess.Normalize(scale=1 / 16), scale=1 / 16),
    '32x32x3': dict(
      name='cifar10',
      batch=128,
      transform=preprocess.PadCropFlip(normalize=preprocess.Normalize(mean=MEAN, std=STD)),
      scale=1 / 255,
    ),
  }


def _prepare():
  from common.data import tfds_sources
  from common.data.builders import standins

  tfds_sources.ensure_prepared('sklearn_digits', DATA_DIR)
  standins.prepare('cifar10', DATA_DIR)


def _time_batches(it, warmup: int, num_batches: int) -> float:
  """Milliseconds per batch over `num_batches` batches after `warmup` batches."""
  for _ in range(warmup):
    next(it)
  t0 = time.perf_counter()
  for _ in range(num_batches):
    next(it)
  return (time.perf_counter() - t0) * 1e3 / num_batches


def grain_ms(w: dict, worker_count: int, warmup: int, num_batches: int) -> float:
  from common.data import streaming

  stream = streaming.TFDSStream(w['name'], data_dir=DATA_DIR)
  options = streaming.LoaderOptions(worker_count=worker_count, read_threads=1, prefetch=2)
  with stream.train_iterator(seed=0, batch_size=w['batch'], transform=w['transform'], options=options) as it:
    return _time_batches(it, warmup, num_batches)


def tf_data_ms(w: dict, warmup: int, num_batches: int) -> float:
  import tensorflow as tf
  import tensorflow_datasets as tfds

  from common.data import order as order_lib
  from common.data import tfds_sources

  builder = tfds_sources.ensure_prepared(w['name'], DATA_DIR, random_access=True)
  raw = builder.as_data_source(split='train', deserialize_method=tfds.decode.DeserializeMethod.RAW_BYTES)
  features = builder.info.features
  order = order_lib.TrainOrder(len(raw), w['batch'], seed=0)
  indices = np.concatenate([order.global_batch(s) for s in range(warmup + num_batches)])
  augment = w['name'] == 'cifar10'

  def read(batch_indices):
    return np.asarray(raw.__getitems__([int(i) for i in batch_indices]), dtype=object)

  def decode(index, serialized):
    example = features.deserialize_example(serialized)
    image, label = example['image'], example['label']
    if augment:
      seed = tf.stack([tf.cast(index, tf.int64), tf.constant(0, tf.int64)])
      image = tf.pad(image, [[4, 4], [4, 4], [0, 0]])
      image = tf.image.stateless_random_crop(image, [32, 32, 3], seed)
      image = tf.image.stateless_random_flip_left_right(image, seed + 1)
      image = (tf.cast(image, tf.float32) * w['scale'] - MEAN) / STD
    else:
      image = tf.cast(image, tf.float32) * w['scale']
    return {'inputs': image, 'targets': tf.cast(label, tf.int32)}

  ds = tf.data.Dataset.from_tensor_slices(indices).batch(w['batch'])
  ds = ds.map(lambda i: (i, tf.numpy_function(read, [i], tf.string)), num_parallel_calls=tf.data.AUTOTUNE)
  ds = ds.unbatch().map(decode, num_parallel_calls=tf.data.AUTOTUNE).batch(w['batch']).prefetch(tf.data.AUTOTUNE)
  return _time_batches(iter(ds.as_numpy_iterator()), warmup, num_batches)


# workload -> (config, bindings): the steps timed fed by the pipeline and by an on-device batch.
STEP_CONFIGS = {
  'ViT-Tiny Fourier-KArAt': ('configs/kan_attention/paper_cifar10_vit_tiny_karat.gin', ['BATCH_SIZE=128']),
  'CTM (50 ticks, ResNet-18-1)': ('configs/ctm_paper/paper_cifar10.gin', ['BATCH_SIZE=32']),
}


def _configured(config: str, bindings: list[str]):
  """(model, task, optimizer) of loop.train as gin builds them from `config` (reading the stand-ins in DATA_DIR)."""
  from common.train import loop
  from launch import gin_setup

  os.environ['TFDS_DATA_DIR'] = DATA_DIR
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  gin_setup.parse([os.path.join(root, config)], bindings, [root])
  b = gin_setup.bindings_of(loop.train)
  return b['model'], b['task'], b['optimizer'](b['num_steps'])


def step_ms(config: str, bindings: list[str], workers: int, warmup: int, steps: int, rounds: int):
  """(pipeline-fed, device-fed) median ms per train step of loop.train's streaming step (module docstring)."""
  import jax
  from jax.sharding import Mesh, NamedSharding, PartitionSpec

  from common.train import loop
  from common.train import state as state_lib

  model, task, tx = _configured(config, [*bindings, f'DATA_WORKERS={workers}'])
  state = state_lib.create_state(state_lib.init_variables(model, task.init_inputs(), jax.random.PRNGKey(0)), tx)
  step = jax.jit(loop.make_train_step(model, loop._GivenBatch(task), tx), donate_argnums=(0,))
  sharding = NamedSharding(Mesh(jax.devices()[:1], ('data',)), PartitionSpec('data'))
  put = lambda batch: {k: jax.make_array_from_process_local_data(sharding, v) for k, v in batch.items()}  # noqa: E731
  keys = (jax.random.PRNGKey(1), jax.random.PRNGKey(2))
  with task.train_iterator(seed=0, process_index=0, process_count=1) as it:
    fixed = put(next(it))

    def chunk(feed, n):
      nonlocal state
      t0 = time.perf_counter()
      for _ in range(n):
        state, metrics = step(state, feed(), *keys)
      jax.block_until_ready((state, metrics))
      return (time.perf_counter() - t0) * 1e3 / n

    chunk(lambda: fixed, warmup)
    chunk(lambda: put(next(it)), warmup)
    device, pipeline = [], []
    for _ in range(rounds):
      device.append(chunk(lambda: fixed, steps))
      pipeline.append(chunk(lambda: put(next(it)), steps))
  return float(np.median(pipeline)), float(np.median(device))


def step_rows(quick: bool = False) -> list[Row]:
  warmup, steps, rounds = (1, 2, 2) if quick else (2, 4, 3)
  rows = []
  for label, (config, bindings) in STEP_CONFIGS.items():
    batch = bindings[0].split('=')[1]
    for workers in (0, 2):
      pipe, device = step_ms(config, bindings, workers, warmup, steps, rounds)
      share = (pipe - device) / device
      rows.append(
        Row(
          f'{label} train step, batch {batch}: fed by grain ({workers} workers)',
          pipe,
          'on-device batch',
          device,
          note=f'pipeline {100 * share:+.1f}% of the step (target <= 10%); {rounds} rounds x {steps} steps',
          extra={'pipeline_share': share, 'config': config, 'bindings': bindings},
        )
      )
  return rows


def run(quick: bool = False, only: str | None = None) -> list[Row]:
  _prepare()
  if only == 'steps':
    return step_rows(quick)
  warmup, num_batches = (5, 30) if quick else (20, 300)
  rows = []
  for label, w in _workloads().items():
    peer = tf_data_ms(w, warmup, num_batches)
    for workers in (0, 2):
      ours = grain_ms(w, workers, warmup, num_batches)
      rows.append(
        Row(
          f'data {label}: batch {w["batch"]}, grain {workers} workers',
          ours,
          'tf.data',
          peer,
          note=f'{w["batch"] * 1e3 / ours:.0f} vs {w["batch"] * 1e3 / peer:.0f} examples/s; {num_batches} batches',
          extra={'examples_per_s': w['batch'] * 1e3 / ours, 'peer_examples_per_s': w['batch'] * 1e3 / peer},
        )
      )
  return rows if only == 'throughput' else rows + step_rows(quick)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--quick', action='store_true')
  parser.add_argument('--only', choices=('throughput', 'steps'), default=None, help='one half of the rows')
  parser.add_argument('--json', default=os.path.join(os.path.dirname(__file__), 'results', 'data.json'))
  args = parser.parse_args(argv)
  rows = run(args.quick, args.only)
  print(harness.format_table(rows))
  harness.write_json(rows, args.json)
  return 0


if __name__ == '__main__':
  raise SystemExit(main())
