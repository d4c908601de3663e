"""The S-KAN comparison's function-fitting tasks x 5 seeds, for the S-KAN and the parameter-matched MLP (seeds
vmapped: one program per task with --vmap_trials). The single-basis KANs: tasks_bases.py; the digits rows:
bases.py and seeds.py. Every command of the table is in projects/s_kan/README.md.

TASKS are the three the README's CPU-sized table ran (a 1-, 2- and 4-input formula); the old table also had
tanh_step, exp_sin_plus_square, gaussian_bump and poly_cubic (ALL_TASKS), more programs than the locked budget held.

  launch --gin_file=configs/s_kan/fitting_skan.gin --sweep=configs/s_kan/sweeps/tasks.py \
    --workdir=/tmp/s_kan/fitting_skan --vmap_trials --sweep_workers=1 --gin.NUM_STEPS=300
"""

TASKS = ['bessel_j0', 'xy', 'exp_sin4']
ALL_TASKS = ['bessel_j0', 'xy', 'tanh_step', 'exp_sin_plus_square', 'exp_sin4', 'gaussian_bump', 'poly_cubic']


def sweep(h):
  return h.product([h.sweep('TASK', TASKS), h.sweep('SEED', [0, 1, 2, 3, 4])])
