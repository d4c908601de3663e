"""5 seeds of one configuration (the dense rows of the G2GNet table).

  launch --gin_file=configs/g2gnet/mlp_dense.gin --sweep=configs/g2gnet/sweeps/seeds.py \
    --workdir=/tmp/g2g/mlp_dense --sweep_workers=2
"""


def sweep(h):
  return h.sweep('SEED', [0, 1, 2, 3, 4])
