"""5 source models (seeds 0-4) for the NHL table; each is then adapted online by every method.

  launch --gin_file=configs/nhl_tta/source_cnn.gin --sweep=configs/nhl_tta/sweeps/seeds.py \
    --workdir=/tmp/nhl/source --sweep_workers=2
"""


def sweep(h):
  return h.sweep('SEED', [0, 1, 2, 3, 4])
