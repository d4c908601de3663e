"""XLA compiler options that experiments opt into (loop.train's `xla_options`), with the measurements behind them.

cpu_small_ops(): for models that run many small ops per step, such as the CTM's and the LSTM baseline's internal
ticks. By default XLA:CPU hands reductions (LayerNorm and softmax statistics, bias gradients) to YNNPACK, and each
such call costs tens of microseconds of dispatch; a 16-tick CTM training step makes hundreds of them. Listing only
individual dots as YNNPACK's work (XLA_FLAGS spells it --xla_cpu_experimental_ynn_fusion_type=-reduce) keeps
reductions in XLA's own fused loops. `python -m benchmarks.bench_ctm` times the CTM parity-16 training step both
ways in one run (2-core development CPU: 33.8 ms with this option, 44.2 ms with XLA's defaults). GPU and TPU
compilers ignore xla_cpu_* options.

Options change how XLA sums floats, so a run's last bits depend on them: that is why they are opt-in per experiment
(configs/base/xla_cpu_small_ops.gin) rather than global, which would shift every recorded result.
"""

from typing import Any


def cpu_small_ops() -> dict[str, Any]:
  return {'xla_cpu_experimental_ynn_fusion_type': 'LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT'}
