"""The adaptive-compute table: configs/ctm_digits/ctm_digits.gin x 3 seeds, vmapped (one program with --vmap_trials).

  launch --gin_file=configs/ctm_digits/ctm_digits.gin --sweep=configs/ctm_digits/sweeps/seeds.py \
    --workdir=/tmp/ctm_digits/seeds --vmap_trials --sweep_workers=1
  launch report /tmp/ctm_digits/seeds --analysis=projects.ctm_digits.analysis:halting
"""


def sweep(h):
  return h.sweep('SEED', [0, 1, 2])
