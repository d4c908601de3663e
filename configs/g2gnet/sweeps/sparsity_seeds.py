"""The G2GNet table's sparse rows: SPARSITY 0.5 and 0.75 x 5 seeds, for any sparse file in configs/g2gnet/.

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/g2gnet/mlp_g2g_dst_hebbian.gin \
    --sweep=configs/g2gnet/sweeps/sparsity_seeds.py --workdir=/tmp/g2g/mlp_g2g_dst_hebbian --vmap_trials
(the same for mlp_random, mlp_g2g, mlp_g2g_dst_random and the cnn_* files; dense rows: seeds.py). The seeds of a
sparsity are one vmapped program. The README's CNN rows add --gin.NUM_STEPS=300 --gin.EVAL_EVERY=300 (and for the
DST files --gin.DST_EVERY=20 --gin.DST_END_STEP=225, the MLP schedule scaled by 0.2) to fit the CPU budget.
"""


def sweep(h):
  return h.product([h.sweep('SPARSITY', [0.5, 0.75]), h.sweep('SEED', [0, 1, 2, 3, 4])])
