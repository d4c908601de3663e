"""The MLP side of the kan_fitting table: per formula, two SiLU hidden layers of width 4, 16, 64 and of the width
whose parameter count is closest to the KAN's at grid 20 (formulas.py's shape; common.kan.matching), trained for as
many steps as the KAN in all (4 grids x formulas.py's STEPS_PER_GRID = 1200), x 5 seeds (vmapped with --vmap_trials:
one program per formula and width). The old 1-seed table's widths were 4, 8, 16, 32, 64 at 2000 steps.

  launch --gin_file=configs/kan_fitting/mlp.gin --sweep=configs/kan_fitting/sweeps/mlp_widths.py \
    --workdir=/tmp/kan_fitting/mlp --vmap_trials --sweep_workers=1
"""

from common.data.synthetic import function_fitting
from common.kan import matching

SHAPES = {'bessel_j0': (1,), 'exp_sin_plus_square': (1, 1), 'xy': (2, 1), 'exp_sin4': (4, 2, 1)}  # formulas.py's
WIDTHS = [4, 16, 64]
FINAL_GRID = 20
SEEDS = [0, 1, 2, 3, 4]
STEPS_PER_GRID = 300  # formulas.py's


def equal_params_width(formula: str) -> int:
  d = function_fitting.input_dim(formula)
  target = matching.dense_params('kan', d, SHAPES[formula], grid_size=FINAL_GRID, order=3)
  return matching.matched_hidden(target, 'mlp', d, 1, depth=2)[0]


def sweep(h):
  per_formula = []
  for formula in SHAPES:
    widths = sorted(set(WIDTHS) | {equal_params_width(formula)})
    per_formula.append(h.product([h.fixed('FORMULA', formula), h.sweep('HIDDEN', [(w, w) for w in widths])]))
  return h.product([h.fixed('NUM_STEPS', 4 * STEPS_PER_GRID), h.chain(per_formula), h.sweep('SEED', SEEDS)])
