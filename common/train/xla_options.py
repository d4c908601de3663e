"""XLA compiler options that experiments opt into (loop.train's `xla_options`), with the measurements behind them.

cpu_small_ops(): for models that run many small ops per step, such as the CTM's and the LSTM baseline's internal
ticks. By default XLA:CPU hands reductions (LayerNorm and softmax statistics, bias gradients) to YNNPACK, and each
such call costs tens of microseconds of dispatch; a 16-tick CTM training step makes hundreds of them. Listing only
individual dots as YNNPACK's work (XLA_FLAGS spells it --xla_cpu_experimental_ynn_fusion_type=-reduce) keeps
reductions in XLA's own fused loops. `python -m benchmarks.bench_ctm` times the CTM parity-16 training step both
ways in one run (2-core development CPU: 33.8 ms with this option, 44.2 ms with XLA's defaults). GPU and TPU
compilers ignore xla_cpu_* options.

cpu_small_ops(vector_width=512): also vectorise XLA's own loops 512 bits wide where the CPU has AVX-512 (XLA:CPU
prefers 256 bits by default). On the development CPU (AMD EPYC, AVX-512), `python -m benchmarks.ab_ctm_switch
--option=xla_cpu_prefer_vector_width=512` timed the CTM parity-16 train step at 0.95-0.98x and its forward pass at
0.88-0.92x the time without it, before bench_ctm's options included it; since then the same tool compares back to
XLA's default with `--option=xla_cpu_prefer_vector_width=256` (on/off inverted; projects/ctm_parity/README.md). The
parameter-matched LSTM baseline (hidden 51) ran slower with it in a one-off comparison, and the maze, digits and sort
CTMs were not measured, so only the CTM parity configs set it (XLA_CPU_VECTOR_WIDTH in
configs/ctm_parity/ctm_t16.gin). On a CPU without AVX-512 it changes nothing.

Options change how XLA sums floats, so a run's last bits depend on them: that is why they are opt-in per experiment
(configs/base/xla_cpu_small_ops.gin) rather than global, which would shift every recorded result.
"""

from typing import Any


def cpu_small_ops(vector_width: int | None = None) -> dict[str, Any]:
  """Reductions in XLA's fused loops rather than YNNPACK calls; vector_width (bits, e.g. 512): XLA's preferred width
  for vectorising its loops, None for its default."""
  options = {'xla_cpu_experimental_ynn_fusion_type': 'LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT'}
  if vector_width is not None:
    options['xla_cpu_prefer_vector_width'] = int(vector_width)
  return options
