"""5 seeds of one parity experiment (the ablations, the D=64 20000-step runs), vmapped (one program with
--vmap_trials; the D=256 pair ran 3 seeds with --seeds=0,1,2, 5 would take about 85 minutes); the commands for
the README's tables are in projects/ctm_parity/README.md, e.g.

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/ctm_parity/ablation_shared_nlm.gin \
    --sweep=configs/ctm_parity/sweeps/seeds.py --workdir=/tmp/ctm_parity/500/shared_nlm --vmap_trials \
    --sweep_workers=1 --gin.NUM_STEPS=500 --gin.EVAL_EVERY=500 --gin.CHECKPOINT_EVERY=500
  launch report /tmp/ctm_parity/500 --analysis=projects.ctm_parity.analysis:parity
"""

SEEDS = [0, 1, 2, 3, 4]


def sweep(h):
  return h.sweep('SEED', SEEDS)
