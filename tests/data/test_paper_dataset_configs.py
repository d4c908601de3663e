"""Every config that trains on one of the papers' datasets trains 3 steps under configs/base/cpu_debug.gin on a
stand-in prepared under the dataset's real name, version and feature spec (conftest.paper_data_dir;
common/data/builders/standins.py):
  - configs named after their dataset (mnist_*.gin, fashion_mnist_*.gin, cifar10_*.gin, cifar100_*.gin,
    imagenet2012_*.gin; tests/foundation/test_every_config.py leaves them to this file) train as they are;
  - paper_*.gin configs that train on a paper dataset where it is prepared but are too large or too slow to compile
    for this 2-core CPU (test_every_config.py dry-runs them) train with their model shrunk by the bindings in SHRUNK:
    the data part (dataset, splits, transforms, task, loss) is the config's own. paper_cifar10_vit_tiny_karat.gin
    trains that way in tests/data/test_streaming_launch.py.

What stands in for what (train / eval examples):
  mnist, fashion_mnist  scikit-learn's 8x8 digits upsampled to 28x28x1 PNGs (128 / 32), label = digit
  cifar10               the digits upsampled to 32x32x3 grey PNGs (128 / 32)
  cifar100              the same images, label = digit + 10 * (i mod 10): all 100 classes, each 10-class task learnable
  imagenet2012          the digits as grey RGB JPEGs with sides of 48..96 px (64 train / 16 validation), labels 0..9
A dataset that is not prepared stops a run before anything is written (exit 2 from `launch`).
"""

import os
import pathlib

import pytest

from common.data.builders import standins
from launch import api
from launch.errors import UsageError

ROOT = pathlib.Path(__file__).resolve().parents[2]
CPU_DEBUG = 'configs/base/cpu_debug.gin'
PREFIXES = tuple(f'{name}_' for name in standins.SPLITS)
PREPARED = sorted(str(p.relative_to(ROOT)) for p in (ROOT / 'configs').rglob('*.gin') if p.name.startswith(PREFIXES))
SMALL_CTM = [
  'ctm.CTM.iterations=2', 'ctm.CTM.d_model=32', 'ctm.CTM.d_input=16', 'ctm.CTM.heads=2', 'ctm.CTM.n_synch_out=16',
  'ctm.CTM.n_synch_action=16', 'ctm.CTM.synapse_depth=1', 'ctm.CTM.memory_length=4', 'ctm.CTM.memory_hidden_dims=4',
  'ctm.CTM.n_random_pairing_self=0', 'backbones.ResNetBackbone.depth=18', 'backbones.ResNetBackbone.stages=1',
]  # fmt: skip
SMALL_VIT = ['vit.ViT.depth=1', 'vit.ViT.dim=16', 'vit.ViT.num_heads=2', 'vit.ViT.mlp_ratio=2']
SHRUNK = {
  'configs/ctm_paper/paper_imagenet.gin': [
    *SMALL_CTM,
    'preprocess.InceptionCropFlip.size=32',
    'preprocess.CenterCrop.size=32',
  ],
  'configs/ctm_paper/paper_cifar10.gin': SMALL_CTM,
  'configs/kan_attention/paper_cifar100_vit_tiny_karat.gin': SMALL_VIT,
  'configs/s_kan/paper_mnist_sconvkan.gin': ['CHANNELS=(4,)'],
  'configs/s_kan/paper_fashion_mnist_sconvkan.gin': ['CHANNELS=(4,)'],
}


@pytest.fixture
def standin_env(paper_data_dir, monkeypatch):
  monkeypatch.setenv('TFDS_DATA_DIR', paper_data_dir)  # the configs read $TFDS_DATA_DIR (no data_dir bound)
  return paper_data_dir


def test_the_paper_dataset_configs_are_discovered():
  expected = {
    'configs/hlop/mnist_hlop.gin',
    'configs/hlop/cifar100_hlop.gin',
    'configs/active_dendrites/mnist_ad_kwinners_10.gin',
    'configs/power_law_rehearsal/mnist_power_law_d1.gin',
  }
  assert expected <= set(PREPARED)
  assert all((ROOT / p).exists() for p in SHRUNK)


@pytest.mark.parametrize('gin_file', PREPARED)
def test_trains_three_steps_on_the_standin(gin_file, standin_env, tmp_path):
  final = api.execute([gin_file, CPU_DEBUG], workdir=str(tmp_path / 'run'))
  finals = final if isinstance(final, list) else [final]
  assert finals and all(isinstance(f, dict) for f in finals)
  assert (tmp_path / 'run' / 'final_metrics.json').exists()


@pytest.mark.parametrize('gin_file', sorted(SHRUNK))
def test_paper_config_data_part_trains_with_a_shrunk_model(gin_file, standin_env, tmp_path):
  final = api.execute([gin_file, CPU_DEBUG], SHRUNK[gin_file], workdir=str(tmp_path))
  assert final['step'] == 3 and 0.0 <= final['accuracy'] <= 1.0
  if '/ctm_paper/' in gin_file:  # the CTM tick loss's metrics, not cross-entropy's
    assert {'accuracy_last', 'mean_certain_tick'} <= set(final)


@pytest.mark.parametrize(
  'gin_file, name',
  [
    ('configs/kan_attention/paper_cifar10_vit_tiny_karat.gin', 'cifar10'),  # streamed: the dry run reads nothing
    ('configs/s_kan/paper_mnist_sconvkan.gin', 'mnist'),  # in memory, loaded only when training starts
  ],
)
def test_unprepared_dataset_stops_the_run_before_anything_is_written(gin_file, name, tmp_path, monkeypatch):
  empty = tmp_path / 'no_data'
  monkeypatch.setenv('TFDS_DATA_DIR', str(empty))
  workdir = tmp_path / 'run'
  with pytest.raises(UsageError) as e:
    api.execute([gin_file, CPU_DEBUG], workdir=str(workdir))
  message = str(e.value)
  assert f"dataset '{name}' is not prepared" in message and str(empty) in message
  assert f'tfds build {name} --data_dir={empty}' in message
  assert not workdir.exists() and not os.path.exists(empty / name)  # nothing written, nothing downloaded
