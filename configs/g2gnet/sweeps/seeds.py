"""5 seeds of one configuration (the MLP dense row and every CNN row of the G2GNet table).

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/g2gnet/mlp_dense.gin --sweep=configs/g2gnet/sweeps/seeds.py \
    --workdir=/tmp/g2g/mlp_dense --vmap_trials --sweep_workers=1
The seeds are one vmapped program. Also the CNN dense row (the README's table runs every CNN row for 300 steps):
  the same with configs/g2gnet/cnn_dense.gin --workdir=/tmp/g2g/cnn_dense --gin.NUM_STEPS=300 --gin.EVAL_EVERY=300
The sparse rows use sparsity_seeds.py.
"""


def sweep(h):
  return h.sweep('SEED', [0, 1, 2, 3, 4])
