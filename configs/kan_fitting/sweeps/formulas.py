"""The KAN side of the kan_fitting table: the paper's four toy formulas with their KAN shapes, grid extension
3 -> 5 -> 10 -> 20 with STEPS_PER_GRID steps per grid, x 5 seeds (vmapped with --vmap_trials: one program per
formula).

STEPS_PER_GRID = 300 is the CPU size the README's table ran (the old 1-seed table: 500 per grid, the paper: LBFGS
with many more); grid updates run every 50 steps up to step 250 of each phase (grid_extension.gin).

  launch --gin_file=configs/kan_fitting/grid_extension.gin --sweep=configs/kan_fitting/sweeps/formulas.py \
    --workdir=/tmp/kan_fitting/kan --vmap_trials --sweep_workers=1
"""

# formula -> KAN widths after the input (the paper's shapes [1,1], [2,1,1], [2,2,1], [4,4,2,1]).
SHAPES = {'bessel_j0': (1,), 'exp_sin_plus_square': (1, 1), 'xy': (2, 1), 'exp_sin4': (4, 2, 1)}
SEEDS = [0, 1, 2, 3, 4]
STEPS_PER_GRID = 300


def sweep(h):
  formulas = h.zip([h.sweep('FORMULA', list(SHAPES)), h.sweep('WIDTHS', list(SHAPES.values()))])
  return h.product([h.fixed('NUM_STEPS', STEPS_PER_GRID), formulas, h.sweep('SEED', SEEDS)])
