"""5 seeds of one S-KAN / S-ConvKAN configuration (the S-ConvKAN and CNN rows of the digits comparison).

  launch --gin_file=configs/s_kan/sconvkan_digits.gin --sweep=configs/s_kan/sweeps/seeds.py \
    --workdir=/tmp/sconvkan/sconvkan --sweep_workers=1
  launch --gin_file=configs/s_kan/cnn_digits.gin --sweep=configs/s_kan/sweeps/seeds.py \
    --workdir=/tmp/sconvkan/cnn --sweep_workers=1
"""


def sweep(h):
  return h.sweep('SEED', [0, 1, 2, 3, 4])
