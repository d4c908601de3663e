"""The S-ConvKAN digits comparison's single-basis rows: every basis x 5 seeds, each ConvKAN matched to the
S-ConvKAN's parameter count (configs/s_kan/convkan_digits.gin). The S-ConvKAN and CNN rows use sweeps/seeds.py.

  launch --gin_file=configs/s_kan/convkan_digits.gin --sweep=configs/s_kan/sweeps/convkan_digits.py \
    --workdir=/tmp/sconvkan/convkan --sweep_workers=1
  launch report /tmp/sconvkan
"""


def sweep(h):
  return h.product(
    [
      h.sweep('BASIS', ['bspline', 'chebyshev', 'fourier', 'rbf', 'mexican_hat']),
      h.sweep('SEED', [0, 1, 2, 3, 4]),
    ]
  )
