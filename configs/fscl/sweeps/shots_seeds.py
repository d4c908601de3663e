"""The FSCL table: 5 seeds (SEED 0-4: initial weights and batch order) over one task sequence (DATA_SEED = 0: class
order, held-out classes, example draws and probe episodes), at SHOTS 10 (the table) and optionally 5 / 20 (SHOTS
below), for any file in configs/fscl/ (finetune, ewc, joint, fast_slow). The seeds of a SHOTS value are one vmapped
program.

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/fscl/fast_slow.gin \
    --sweep=configs/fscl/sweeps/shots_seeds.py --workdir=/tmp/fscl/fast_slow --vmap_trials --sweep_workers=1
"""

SHOTS = [10]
DATA_SEED = 0


def sweep(h):
  return h.product([h.fixed('DATA_SEED', DATA_SEED), h.sweep('SHOTS', SHOTS), h.sweep('SEED', [0, 1, 2, 3, 4])])
