"""Stand-ins are prepared offline under the real name and read back with the real builder's feature spec."""

import numpy as np
import pytest

from common.data.builders import standins


@pytest.mark.parametrize('name', sorted(standins.SPLITS))
def test_standin_reads_back_through_the_real_builder_with_its_feature_spec(name, tmp_path):
  import tensorflow_datasets as tfds

  standins.prepare(name, str(tmp_path), num_train=12, num_eval=4)
  real = tfds.builder(name, data_dir=str(tmp_path))  # TFDS's own builder class, not the stand-in
  assert type(real).__module__.startswith('tensorflow_datasets.')
  assert standins.is_standin(real)
  train, held_out = standins.SPLITS[name]
  assert {train: 12, held_out: 4} == {s: real.info.splits[s].num_examples for s in (train, held_out)}
  example = real.as_data_source(split=train)[0]
  features = real.info.features
  assert set(example) == set(features)
  for key, feature in features.items():
    value = np.asarray(example[key])
    assert value.ndim == len(feature.shape), key
    assert all(want is None or want == got for want, got in zip(feature.shape, value.shape)), (key, value.shape)
    if value.dtype.kind != 'S':  # text features decode to bytes
      assert value.dtype == np.dtype(feature.np_dtype), key
  assert example['label'] < features['label'].num_classes
