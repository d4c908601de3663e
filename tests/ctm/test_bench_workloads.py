"""benchmarks/bench_ctm.py's parity64 workload is the model that configs/ctm_parity/paper_parity64.gin trains, so its
GPU timings (projects/ctm_parity/README.md, *On one GPU*) are the config's; benchmarks/ab_ctm_switch.py refuses a bad
switch or compiler option with status 2."""

import sys

import pytest

from benchmarks import ab_ctm_switch, bench_ctm
from launch import config_model


def test_parity64_workload_is_paper_parity64_config():
  model = config_model.load(['configs/ctm_parity/paper_parity64.gin'], [], [])
  ctm = {b.param: b.value for b in model.bindings if b.selector == 'common.ctm.ctm.CTM'}
  macros = {b.selector: b.value for b in model.bindings if b.is_macro}
  workload = bench_ctm.WORKLOADS['parity64']
  assert {k: ctm[k] for k in workload} == workload
  assert tuple(ctm['prediction_reshaper']) == (workload['out_dims'] // 2, 2)
  assert macros['BATCH_SIZE'] == 64  # the benchmark's train batch


def test_benchmark_options_are_the_parity_configs():
  """bench_ctm compiles with what configs/ctm_parity/ctm_t16.gin (and the configs including it) gives loop.train."""
  import gin

  gin.clear_config()
  try:
    gin.parse_config_files_and_bindings(['configs/ctm_parity/ctm_t16_d256.gin'], [])
    options = gin.query_parameter('loop.train.xla_options').scoped_configurable_fn()
  finally:
    gin.clear_config()
  assert options == bench_ctm.XLA_OPTIONS
  assert options['xla_cpu_prefer_vector_width'] == 512


@pytest.mark.parametrize(
  'argv, named',
  [
    (['--switch=common.ctm.nope.X'], 'common.ctm.nope'),
    (['--switch=common.ctm.ctm.NOPE'], "'NOPE'"),
    (['--switch=common.ctm.ctm.d_model'], "'d_model'"),
    (['--switch=common.ctm.ctm.TRANSPOSE_KERNELS', '--rounds=0'], '--rounds=0'),
    ([], 'exactly one of'),
    (['--switch=common.ctm.ctm.TRANSPOSE_KERNELS', '--option=a=1'], 'exactly one of'),
    (['--option=xla_cpu_prefer_vector_width'], 'NAME=VALUE'),
    (['--option=xla_cpu_no_such_option=1'], 'xla_cpu_no_such_option'),
  ],
)
def test_ab_switch_refuses_bad_flags_with_status_2(argv, named, capsys, monkeypatch):
  monkeypatch.setattr(sys, 'argv', ['ab_ctm_switch', *argv])
  with pytest.raises(SystemExit) as exit_info:
    ab_ctm_switch.main()
  assert exit_info.value.code == 2
  assert named in capsys.readouterr().err
