"""The parity table's T axis: ITERATIONS in {1, 4, 16} x 5 seeds, seeds vmapped (one program per T with --vmap_trials).
T = 8 (ctm_t8.gin / lstm_t8.gin) runs through sweeps/seeds.py in the README's 4000-step table (the configs' steps).
Run it on the CTM and on the parameter-matched LSTM, into one root with the ablations (sweeps/seeds.py); the
README's early-training table sets 500 steps on the command line:

  R=/tmp/ctm_parity/500
  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/ctm_parity/ctm_t16.gin \
    --sweep=configs/ctm_parity/sweeps/ticks.py --workdir=$R/ctm --vmap_trials --sweep_workers=1 \
    --gin.NUM_STEPS=500 --gin.EVAL_EVERY=500 --gin.CHECKPOINT_EVERY=500
  (the same with lstm_t16.gin into $R/lstm)
  launch report $R --analysis=projects.ctm_parity.analysis:parity
"""

TICKS = [1, 4, 16]
SEEDS = [0, 1, 2, 3, 4]


def sweep(h):
  return h.product([h.sweep('ITERATIONS', TICKS), h.sweep('SEED', SEEDS)])
