"""The sorting table: configs/ctm_sort/ctm_sort.gin x 5 seeds, vmapped (one program with --vmap_trials), at the
config's 20000 steps (the README's early-training row adds --gin.NUM_STEPS=1500 and workdir /tmp/ctm_sort/1500):

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/ctm_sort/ctm_sort.gin \
    --sweep=configs/ctm_sort/sweeps/seeds.py --workdir=/tmp/ctm_sort/20000 --vmap_trials --sweep_workers=1 \
    --gin.EVAL_EVERY=20000 --gin.CHECKPOINT_EVERY=20000
  launch report /tmp/ctm_sort/20000 --metrics=loss,element_accuracy,sequence_accuracy
"""

SEEDS = [0, 1, 2, 3, 4]


def sweep(h):
  return h.sweep('SEED', SEEDS)
