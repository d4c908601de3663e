"""The S-KAN comparison's single-basis KANs on the function-fitting tasks: task x basis x 5 seeds at the S-KAN's
hidden width, seeds vmapped (--vmap_trials: one program per task and basis). The same sweep with
--gin.MATCH_SKAN=True widens every KAN to the S-KAN's parameter count (the README's second table).

  launch --gin_file=configs/s_kan/fitting_kan.gin --sweep=configs/s_kan/sweeps/tasks_bases.py \
    --workdir=/tmp/s_kan/fitting_kan --vmap_trials --sweep_workers=1
"""

# The same tasks as tasks.py (sweep files are loaded by path, so the list is repeated here).
TASKS = ['bessel_j0', 'xy', 'tanh_step', 'exp_sin_plus_square', 'exp_sin4', 'gaussian_bump', 'poly_cubic']
BASES = ['bspline', 'chebyshev', 'fourier', 'rbf', 'mexican_hat']


def sweep(h):
  return h.product([h.sweep('TASK', TASKS), h.sweep('BASIS', BASES), h.sweep('SEED', [0, 1, 2, 3, 4])])
