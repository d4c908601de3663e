"""Opening datasets: a dataset that is not prepared is a ConfigurationError (no download, nothing written),
TFRecord data are refused by the streaming pipeline with the conversion command, and reading needs no TensorFlow."""

import os
import subprocess
import sys

import numpy as np
import pytest

from common.data import pipeline, streaming
from common.train.errors import ConfigurationError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_unprepared_dataset_names_it_the_data_dir_and_the_build_command(tmp_path):
  data_dir = str(tmp_path / 'empty')
  for open_data in (
    lambda: pipeline.load_tfds('mnist', data_dir=data_dir).train,
    lambda: streaming.TFDSStream('mnist', data_dir=data_dir).check_prepared(),
  ):
    with pytest.raises(ConfigurationError) as e:
      open_data()
    message = str(e.value)
    assert "'mnist' is not prepared" in message and f'data_dir={data_dir!r}' in message
    assert f'tfds build mnist --data_dir={data_dir} --file_format=array_record' in message
    assert 'download=True' in message
  assert not os.path.exists(data_dir)  # nothing downloaded, nothing written


def test_imagenet_not_prepared_gives_the_manual_download_note(tmp_path):
  data_dir = str(tmp_path / 'empty')
  with pytest.raises(ConfigurationError, match='manual download: .*ILSVRC2012_img_train.tar.*downloads/manual'):
    streaming.TFDSStream('imagenet2012', data_dir=data_dir, eval_split='validation').check_prepared()
  assert not os.path.exists(data_dir)


def test_unknown_dataset_is_a_configuration_error(tmp_path):
  with pytest.raises(ConfigurationError, match="load_tfds.name='no_such_dataset_xyz'"):
    pipeline.load_tfds('no_such_dataset_xyz', data_dir=str(tmp_path)).check_prepared()


def test_tfrecord_data_read_into_memory_as_before_but_refused_by_the_stream(tmp_path):
  import tensorflow_datasets as tfds

  data_dir = str(tmp_path / 'tfrecord')
  tfds.builder('sklearn_digits', data_dir=data_dir).download_and_prepare(file_format='tfrecord')
  with pytest.raises(ConfigurationError, match='tfds convert_format --dataset_version_dir=.*sklearn_digits/1.1.0'):
    streaming.TFDSStream('sklearn_digits', data_dir=data_dir).check_prepared()
  # In memory, TFRecord (tf.data) and ArrayRecord (tfds.data_source) give the same arrays in the same order.
  from_tfrecord = pipeline.load_tfds('sklearn_digits', data_dir=data_dir).train
  from_array_record = pipeline.load_tfds('sklearn_digits').train
  for k in ('inputs', 'targets'):
    np.testing.assert_array_equal(from_tfrecord[k], from_array_record[k])


_READ_WITHOUT_TF = """
import sys
from common.data import pipeline, preprocess, streaming
pipeline.load_tfds('sklearn_digits', scale=1 / 16).train
next(streaming.TFDSStream('sklearn_digits').train_iterator(seed=0, batch_size=8))
next(streaming.TFDSStream('cifar10', data_dir=sys.argv[1]).train_iterator(seed=0, batch_size=8,
                                                                          transform=preprocess.PadCropFlip()))
print('tensorflow imported:', 'tensorflow' in sys.modules)
"""


def test_reading_imports_no_tensorflow(standin_dir):
  out = subprocess.run(
    [sys.executable, '-c', _READ_WITHOUT_TF, standin_dir], cwd=ROOT, capture_output=True, text=True, timeout=300
  )
  assert out.returncode == 0, out.stderr
  assert 'tensorflow imported: False' in out.stdout
