"""The S-KAN comparison's single-basis KANs on digits: basis x (at the S-KAN's hidden width, or widened to its
parameter count: MATCH_SKAN) x 5 seeds, seeds vmapped (--vmap_trials).

  launch --gin_file=configs/s_kan/digits_kan.gin --sweep=configs/s_kan/sweeps/bases.py \
    --workdir=/tmp/s_kan/digits_kan --vmap_trials --sweep_workers=1
"""


def sweep(h):
  return h.product(
    [
      h.sweep('BASIS', ['bspline', 'chebyshev', 'fourier', 'rbf', 'mexican_hat']),
      h.sweep('MATCH_SKAN', [False, True]),
      h.sweep('SEED', [0, 1, 2, 3, 4]),
    ]
  )
