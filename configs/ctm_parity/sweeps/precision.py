"""The bfloat16 option's accuracy effect: CTM.compute_dtype in {float32, bfloat16} x 5 seeds on the T=16 CTM
(configs/ctm_parity/ctm_t16.gin), seeds vmapped (one program per dtype with --vmap_trials). With bfloat16 the
synapses' and the attention's matmuls take bfloat16 operands and accumulate in float32 (common/ctm/ctm.py); the
parameters, the NLMs, the synchronisation and the loss stay float32. The README's table (2000 steps, set on the
command line; the config's default is 4000):

  R=/tmp/ctm_parity/precision
  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/ctm_parity/ctm_t16.gin \
    --sweep=configs/ctm_parity/sweeps/precision.py --workdir=$R --vmap_trials --sweep_workers=1 \
    --gin.NUM_STEPS=2000 --gin.EVAL_EVERY=2000 --gin.CHECKPOINT_EVERY=2000
  launch report $R --group_by=ctm.CTM.compute_dtype --analysis=projects.ctm_parity.analysis:parity
"""

DTYPES = ['float32', 'bfloat16']
SEEDS = [0, 1, 2, 3, 4]


def sweep(h):
  return h.product([h.sweep('ctm.CTM.compute_dtype', DTYPES), h.sweep('SEED', SEEDS)])
