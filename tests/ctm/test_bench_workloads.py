"""benchmarks/bench_ctm.py's parity64 workload is the model that configs/ctm_parity/paper_parity64.gin trains, so its
GPU timings (projects/ctm_parity/README.md, *On one GPU*) are the config's."""

from benchmarks import bench_ctm
from launch import config_model


def test_parity64_workload_is_paper_parity64_config():
  model = config_model.load(['configs/ctm_parity/paper_parity64.gin'], [], [])
  ctm = {b.param: b.value for b in model.bindings if b.selector == 'common.ctm.ctm.CTM'}
  macros = {b.selector: b.value for b in model.bindings if b.is_macro}
  workload = bench_ctm.WORKLOADS['parity64']
  assert {k: ctm[k] for k in workload} == workload
  assert tuple(ctm['prediction_reshaper']) == (workload['out_dims'] // 2, 2)
  assert macros['BATCH_SIZE'] == 64  # the benchmark's train batch
