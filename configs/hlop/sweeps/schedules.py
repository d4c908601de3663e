"""HLOP's Hebbian schedule on configs/hlop/hlop.gin: this repo's first version, an Oja phase after each task
(hebbian_schedule='after_task') with 5 x NUM_STEPS = 1500 or 1 x NUM_STEPS = 300 updates, x seeds 0-2 over one task
sequence (DATA_SEED 0, as sweeps/seeds.py; seeds vmapped). The default (interleaved) schedule is hlop.gin itself.

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/hlop/hlop.gin --sweep=configs/hlop/sweeps/schedules.py \
    --workdir=/tmp/cl/digits/hlop/hlop_after_task --vmap_trials --sweep_workers=1
"""

SEEDS = [0, 1, 2]


def sweep(h):
  multiplier = h.sweep('projection.HLOP.hebbian_multiplier', [5, 1])
  return h.product(
    [
      h.fixed('DATA_SEED', 0),
      h.fixed('projection.HLOP.hebbian_schedule', 'after_task'),
      multiplier,
      h.sweep('SEED', SEEDS),
    ]
  )
