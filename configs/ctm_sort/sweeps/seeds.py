"""The sorting table: configs/ctm_sort/ctm_sort.gin x 5 seeds, vmapped (one program with --vmap_trials). The README's
table is the CPU-sized protocol, 1500 steps set on the command line (the config's default is 20000):

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/ctm_sort/ctm_sort.gin \
    --sweep=configs/ctm_sort/sweeps/seeds.py --workdir=/tmp/ctm_sort/1500 --vmap_trials --sweep_workers=1 \
    --gin.NUM_STEPS=1500 --gin.EVAL_EVERY=1500 --gin.CHECKPOINT_EVERY=1500
  launch report /tmp/ctm_sort/1500 --metrics=loss,element_accuracy,sequence_accuracy
"""

SEEDS = [0, 1, 2, 3, 4]


def sweep(h):
  return h.sweep('SEED', SEEDS)
