"""5 seeds of one configuration (the MLP dense row and every CNN row of the G2GNet table).

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/g2gnet/mlp_dense.gin --sweep=configs/g2gnet/sweeps/seeds.py \
    --workdir=/tmp/g2g/mlp_dense --vmap_trials --sweep_workers=1
The seeds are one vmapped program. Also the CNN rows of the table (75% sparsity only, the sparse files' default):
  for F in cnn_dense cnn_random cnn_g2g cnn_g2g_dst_random cnn_g2g_dst_hebbian: the same with configs/g2gnet/$F.gin
"""


def sweep(h):
  return h.sweep('SEED', [0, 1, 2, 3, 4])
