"""Seeds 0, 1, 2 of any config in configs/power_law_rehearsal (one schedule or baseline each: the table's rows),
over ONE task sequence: DATA_SEED is fixed to 0 (the same 9 pixel permutations for every seed; SEED varies the
initial weights, batch order, buffer and replay draws), so a row's seeds train as one vmapped program
(--vmap_trials). projects/power_law_rehearsal/README.md has the loop over configs and the report command:

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/power_law_rehearsal/uniform.gin \
    --sweep=configs/power_law_rehearsal/sweeps/seeds.py --workdir=/tmp/cl/digits/rehearsal/uniform --vmap_trials \
    --sweep_workers=1
"""

SEEDS = [0, 1, 2]


def sweep(h):
  return h.product([h.fixed('DATA_SEED', 0), h.sweep('SEED', SEEDS)])
