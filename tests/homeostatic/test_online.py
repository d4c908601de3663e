import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common.data.pipeline import ArrayDataset
from common.homeostatic import online
from common.homeostatic.need import NeedRegulation
from common.homeostatic.network import EluMLP
from common.train.errors import ConfigurationError, TrainingDiverged


def _data(n=80, classes=4):
  rng = np.random.default_rng(0)
  y = rng.integers(0, classes, n).astype(np.int32)
  centres = rng.normal(size=(classes, 6)) * 2
  x = (centres[y] + 0.3 * rng.normal(size=(n, 6))).astype(np.float32)
  return ArrayDataset(train={'inputs': x, 'targets': y}, eval={'inputs': x[:20], 'targets': y[:20]})


MODEL = EluMLP(hidden=(8,), out=4)


def test_swap_schedule_constant_and_seasonal():
  assert int(online.swaps_in_epoch(3, 5.0, 0.0, 10.0)) == 5
  seasonal = [int(online.swaps_in_epoch(e, 10.0, 10.0, 4.0)) for e in range(4)]
  assert seasonal == [10, 20, 10, 0]


@pytest.mark.parametrize('swaps', [0, 3])
def test_epoch_swaps_labels_and_keeps_a_permutation(swaps):
  data = _data()
  reg = NeedRegulation(num_classes=4, lr_init=0.05, memory=5, decision_interval=5)
  state = online.init_state(MODEL, reg, jnp.asarray(data.train['inputs'][:2]), jax.random.PRNGKey(0))
  fn = jax.jit(online.make_epoch_fn(MODEL, reg, data, 5, 16))
  new, metrics = fn(state, jax.random.PRNGKey(0), 0, jnp.int32(swaps))
  assert int(metrics['swaps']) == swaps
  perm = np.asarray(new['perm'])
  assert sorted(perm) == [0, 1, 2, 3]
  if swaps == 0:
    np.testing.assert_array_equal(perm, np.arange(4))
  assert np.all(np.isfinite(np.asarray(new['params']['head']['kernel'])))


def test_entry_trains_writes_metrics_and_resumes(tmp_path):
  data = _data()
  reg = NeedRegulation(num_classes=4, lr_init=0.05, memory=5, decision_interval=5)
  kwargs = dict(model=MODEL, data=data, regulation=reg, seed=0, workdir=str(tmp_path), batch_size=5)
  first = online.train(num_steps=32, **kwargs)  # 2 epochs of 16 batches
  assert first['step'] == 32 and first['accuracy'] > 0.5
  again = online.train(num_steps=48, **kwargs)  # resumes after epoch 2, runs epoch 3 only
  assert again['epoch'] == 3
  rows = (tmp_path / 'metrics.jsonl').read_text().splitlines()
  assert sum('"eval"' in r for r in rows) == 3
  # The epoch means cover every epoch, the two before the resume included (their sums are checkpointed).
  evals = [json.loads(r)['accuracy'] for r in rows if '"eval"' in r]
  assert again['mean_accuracy'] == pytest.approx(sum(evals) / 3, rel=1e-5)
  assert first['mean_accuracy'] == pytest.approx(sum(evals[:2]) / 2, rel=1e-5)
  assert online.train(num_steps=32, dry_run=True, **kwargs)['num_params'] == 6 * 8 + 8 + 8 * 4 + 4


def test_divergence_stops_cleanly(tmp_path):
  reg = NeedRegulation(mode='constant', num_classes=4, lr_init=1e35)
  with pytest.raises(TrainingDiverged, match='non-finite'):
    online.train(model=MODEL, data=_data(), regulation=reg, num_steps=40, seed=0, workdir=str(tmp_path), batch_size=5)


def test_regulation_must_cover_every_class(tmp_path):
  with pytest.raises(ConfigurationError, match='num_classes'):
    online.train(
        model=MODEL, data=_data(), regulation=NeedRegulation(num_classes=3), num_steps=4, seed=0,
        workdir=str(tmp_path), batch_size=5,
    )  # fmt: skip
