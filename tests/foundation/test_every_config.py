"""Every experiment gin file under configs/ is found automatically and checked under configs/base/cpu_debug.gin:
paper-scale `paper_*.gin` files must parse, validate and build (dry run, shapes only: their data and compute
are not on a CI machine); every other file must train 3 steps, which parses, validates and builds it too (those that
need a paper's dataset prepared do so on stand-ins in tests/data/test_paper_dataset_configs.py). The capability
matrix's representative configs (tests/foundation/test_capabilities.py) are launched, trained, resumed and checked
there under the same cpu_debug.gin, so they are not trained a second time here."""

import pathlib

import pytest

from common.data.builders import standins
from launch import api
from tests.foundation.test_capabilities import MATRIX

ROOT = pathlib.Path(__file__).resolve().parents[2]
CPU_DEBUG = 'configs/base/cpu_debug.gin'
EXPERIMENTS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / 'configs').rglob('*.gin') if p.parent.name != 'base')
PAPER = [p for p in EXPERIMENTS if pathlib.Path(p).name.startswith('paper_')]
# Configs named after a paper's dataset (mnist_*.gin, cifar10_*.gin, ...) need it prepared: they train on stand-ins in
# tests/data/test_paper_dataset_configs.py.
NEEDS_DATA = tuple(f'{name}_' for name in standins.SPLITS)
IN_MATRIX = {f for files, *_ in MATRIX.values() for f in files}
SMOKE = [
  p for p in EXPERIMENTS if p not in PAPER and p not in IN_MATRIX and not pathlib.Path(p).name.startswith(NEEDS_DATA)
]


def test_configs_are_discovered():
  assert 'configs/baselines/digits_mlp.gin' in EXPERIMENTS
  assert IN_MATRIX <= set(EXPERIMENTS), sorted(IN_MATRIX - set(EXPERIMENTS))  # the matrix trains real configs


@pytest.mark.parametrize('gin_file', PAPER)
def test_paper_config_parses_and_builds(gin_file):
  final = api.execute([gin_file, CPU_DEBUG], workdir=None, dry_run=True)
  assert isinstance(final, dict)


@pytest.mark.parametrize('gin_file', SMOKE)
def test_trains_three_steps(gin_file, tmp_path):
  final = api.execute([gin_file, CPU_DEBUG], workdir=str(tmp_path / 'run'))
  assert isinstance(final, dict)
  assert (tmp_path / 'run' / 'config' / 'resolved.gin').exists()
