"""The FSCL table: SHOTS 5, 10, 20 per class x 5 seeds, for any file in configs/fscl/ (finetune, ewc, joint,
fast_slow).

  launch --gin_file=configs/fscl/fast_slow.gin --sweep=configs/fscl/sweeps/shots_seeds.py \
    --workdir=/tmp/fscl/fast_slow --sweep_workers=2
"""


def sweep(h):
  return h.product([h.sweep('SHOTS', [5, 10, 20]), h.sweep('SEED', [0, 1, 2, 3, 4])])
