"""Trainability on digits, ReLinear (trainability_relinear.gin): the quadratic parameters' learning-rate multiplier
0 (the conventional network inside the quadratic one), 0.01, 0.1 and 1 (initialisation only), under SGD 0.1 and
Adam 1e-3, 10 seeds each.

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/quadratic_networks/trainability_relinear.gin \
    --sweep=configs/quadratic_networks/sweeps/relinear.py --workdir=/tmp/qn/trainability/relinear \
    --vmap_trials --sweep_workers=1
  report: see trainability.py
"""

SEEDS = list(range(10))


def sweep(h):
  return h.product(
    [
      h.zip([h.sweep('OPTIMIZER', ['sgd', 'adam']), h.sweep('LEARNING_RATE', [0.1, 1e-3])]),
      h.sweep('QUAD_LR_MULTIPLIER', [0.0, 0.01, 0.1, 1.0]),
      h.sweep('SEED', SEEDS),
    ]
  )
