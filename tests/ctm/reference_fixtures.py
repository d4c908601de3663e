"""Loads the reference CTM fixtures of tests/ctm/data/ (how they were made: tests/ctm/data/README.md).

A fixture npz holds the reference model's constructor arguments ('config'), its inputs and targets, the attended
features ('kv', a direct check of backbone and positional embedding, whose effect on the predictions is small), per-tick
predictions (B, out_dims, T) and certainties (B, 2, T), the loss, a few gradients ('grad__<key>') and its state_dict:
small entries verbatim ('sd__<key>'), large conv/linear weights as a recipe (`generated`) checked against their
stored sum and sum of squares ('gen__<key>').
"""

import json
import os
import zlib

import numpy as np

DATA = os.path.join(os.path.dirname(__file__), 'data')
NAMES = sorted(f[: -len('.npz')] for f in os.listdir(DATA) if f.endswith('.npz'))


def generated(key: str, shape, seed: int) -> np.ndarray:
  """The fixture script's recipe for large weights: U(-1, 1) / sqrt(fan_in) from numpy's default_rng([seed, crc32])."""
  rng = np.random.default_rng([seed, zlib.crc32(key.encode())])
  fan_in = int(np.prod(shape[1:]))
  return (rng.uniform(-1.0, 1.0, size=shape) / np.sqrt(fan_in)).astype(np.float32)


def load(name: str) -> dict:
  """{'config', 'x' (our layout: images NHWC), 'targets', 'kv' (B, S, d_input: the reference's compute_features),
  'predictions' (B, T, out), 'certainties' (B, T), 'loss', 'state_dict', 'grads'} of fixture `name`."""
  with np.load(os.path.join(DATA, f'{name}.npz')) as f:
    data = {k: f[k] for k in f.files}
  config = json.loads(str(data['config']))
  state_dict = {}
  for key in data['sd_keys']:
    key = str(key)
    if f'sd__{key}' in data:
      state_dict[key] = data[f'sd__{key}']
      continue
    spec = data[f'gen__{key}']
    ndim = int(spec[0])
    shape = tuple(int(v) for v in spec[1 : 1 + ndim])
    array = generated(key, shape, config['seed'])
    a64 = array.astype(np.float64)
    np.testing.assert_allclose([a64.sum(), (a64**2).sum()], spec[1 + ndim :], rtol=1e-9, err_msg=key)
    state_dict[key] = array
  x = data['x']
  if x.ndim == 4:
    x = np.transpose(x, (0, 2, 3, 1))  # NCHW -> NHWC
  return {
    'config': config,
    'x': x,
    'targets': data['targets'].astype(np.int32),
    'kv': data['kv'],
    'predictions': np.transpose(data['predictions'], (0, 2, 1)),
    'certainties': data['certainties'][:, 1],
    'loss': float(data['loss']),
    'state_dict': state_dict,
    'grads': {k[len('grad__') :]: data[k] for k in data if k.startswith('grad__')},
  }
