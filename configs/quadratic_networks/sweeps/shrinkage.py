"""Trainability on digits, ReLinear's shrinkage penalties alpha ||W_g||^2 + beta ||W_b||^2 (alpha = beta) with the
authors' SGD (lr 0.1): multiplier 1 with alpha 1e-3 and 1e-2, multiplier 0.1 with alpha 1e-3, 10 seeds each
(trainability_relinear.gin).

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/quadratic_networks/trainability_relinear.gin \
    --sweep=configs/quadratic_networks/sweeps/shrinkage.py --workdir=/tmp/qn/trainability/shrinkage \
    --vmap_trials --sweep_workers=1
  report: see trainability.py
"""

SEEDS = list(range(10))


def sweep(h):
  return h.product(
    [
      h.fixed('OPTIMIZER', 'sgd'),
      h.fixed('LEARNING_RATE', 0.1),
      h.zip(
        [
          h.sweep('QUAD_LR_MULTIPLIER', [1.0, 1.0, 0.1]),
          h.sweep('qmodels.QuadraticMLP.shrink_g', [1e-3, 1e-2, 1e-3]),
          h.sweep('qmodels.QuadraticMLP.shrink_b', [1e-3, 1e-2, 1e-3]),
        ]
      ),
      h.sweep('SEED', SEEDS),
    ]
  )
