"""Seeds 0, 1, 2 of a permuted-digits config in configs/variational_binary_cl (permuted_{naive,metaplastic,
variational}.gin) over ONE task sequence: DATA_SEED is fixed to 0 (the same 4 pixel permutations for every seed;
SEED varies the initial weights, batch order and sampled fields), so the seeds train as one vmapped program.

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/variational_binary_cl/permuted_variational.gin \
    --sweep=configs/variational_binary_cl/sweeps/seeds.py --workdir=/tmp/vbcl/permuted/variational --vmap_trials \
    --sweep_workers=1
"""

SEEDS = [0, 1, 2]


def sweep(h):
  return h.product([h.fixed('DATA_SEED', 0), h.sweep('SEED', SEEDS)])
