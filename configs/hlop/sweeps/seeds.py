"""Seeds 0, 1, 2 of any one-learner config in configs/hlop (the rows of the HLOP tables), over ONE task sequence.

DATA_SEED is fixed to 0 (the same 9 pixel permutations for every seed; SEED varies the initial weights, the batch
order and the learner's keys), so the three seeds of a row train as one vmapped program (--vmap_trials), about
3x cheaper than three runs. projects/hlop/README.md has the loop over configs and the report command:

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/hlop/hlop.gin --sweep=configs/hlop/sweeps/seeds.py \
    --workdir=/tmp/cl/digits/hlop/hlop --vmap_trials --sweep_workers=1
"""

SEEDS = [0, 1, 2]
DATA_SEED = 0


def sweep(h):
  return h.product([h.fixed('DATA_SEED', DATA_SEED), h.sweep('SEED', SEEDS)])
