"""The sorting table: configs/ctm_sort/ctm_sort.gin x 3 seeds, vmapped (one program with --vmap_trials).

  launch --gin_file=configs/ctm_sort/ctm_sort.gin --sweep=configs/ctm_sort/sweeps/seeds.py \
    --workdir=/tmp/ctm_sort/seeds --vmap_trials --sweep_workers=1 --gin.EVAL_EVERY=20000 --gin.CHECKPOINT_EVERY=20000
  launch report /tmp/ctm_sort/seeds --metrics=loss,element_accuracy,sequence_accuracy
"""


def sweep(h):
  return h.sweep('SEED', [0, 1, 2])
