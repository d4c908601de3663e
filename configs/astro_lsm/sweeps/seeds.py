"""5 seeds of one LSM configuration: SEED drives the Poisson streams, the batch order and the read-out's init, and
model.LiquidStateMachine.network_seed (swept in step) the liquid's wiring, so every seed gets its own liquid.

  launch --gin_file=configs/astro_lsm/nalsm_digits.gin --sweep=configs/astro_lsm/sweeps/seeds.py \
    --workdir=/tmp/astro_lsm/nalsm --sweep_workers=1
  launch report /tmp/astro_lsm
"""


def sweep(h):
  return h.zip([h.sweep('SEED', [0, 1, 2, 3, 4]), h.sweep('model.LiquidStateMachine.network_seed', [0, 1, 2, 3, 4])])
