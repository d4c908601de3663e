"""The S-KAN comparison's function-fitting tasks x 5 seeds, for the S-KAN and the parameter-matched MLP (seeds
vmapped: one program per task with --vmap_trials). The single-basis KANs: tasks_bases.py; the digits rows:
bases.py and seeds.py. Every command of the table is in projects/s_kan/README.md.

TASKS are the old table's seven formulas (1 to 4 inputs). A re-launch into the same workdir skips finished trials
(trial ids hash the swept values), so adding a formula to the list runs only its new programs.

  launch --gin_file=configs/s_kan/fitting_skan.gin --sweep=configs/s_kan/sweeps/tasks.py \
    --workdir=/tmp/s_kan/fitting_skan --vmap_trials --sweep_workers=1
"""

TASKS = ['bessel_j0', 'xy', 'tanh_step', 'exp_sin_plus_square', 'exp_sin4', 'gaussian_bump', 'poly_cubic']


def sweep(h):
  return h.product([h.sweep('TASK', TASKS), h.sweep('SEED', [0, 1, 2, 3, 4])])
