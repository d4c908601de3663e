"""The S-KAN comparison's single-basis KANs on digits: basis x 5 seeds at the S-KAN's hidden width, seeds vmapped
(--vmap_trials: one program per basis). With --gin.MATCH_SKAN=True every KAN is widened to the S-KAN's parameter
count (the README's second table).

  launch --gin_file=configs/s_kan/digits_kan.gin --sweep=configs/s_kan/sweeps/bases.py \
    --workdir=/tmp/s_kan/digits_kan --vmap_trials --sweep_workers=1
"""


def sweep(h):
  return h.product(
    [h.sweep('BASIS', ['bspline', 'chebyshev', 'fourier', 'rbf', 'mexican_hat']), h.sweep('SEED', [0, 1, 2, 3, 4])]
  )
