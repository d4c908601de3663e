"""Trainability on digits, the baselines: the authors' optimizer (SGD, momentum 0.9, lr 0.1) and Adam 1e-3, 10
seeds each, for trainability_conventional.gin and trainability_naive.gin (ReLinear's rows: relinear.py).

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/quadratic_networks/trainability_conventional.gin \
    --sweep=configs/quadratic_networks/sweeps/trainability.py --workdir=/tmp/qn/trainability/conventional \
    --vmap_trials --sweep_workers=1
  (the same with trainability_naive.gin and --workdir=/tmp/qn/trainability/naive), then
  launch report /tmp/qn/trainability --group_by=OPTIMIZER,QuadraticMLP.init_scheme,QUAD_LR_MULTIPLIER,shrink_g \
    --metrics=accuracy --analysis=projects.quadratic_networks.analysis:trainability
"""

SEEDS = list(range(10))


def optimizers(h):
  """The two optimizers of the comparison (the learning rate goes with the optimizer)."""
  return h.zip([h.sweep('OPTIMIZER', ['sgd', 'adam']), h.sweep('LEARNING_RATE', [0.1, 1e-3])])


def sweep(h):
  return h.product([optimizers(h), h.sweep('SEED', SEEDS)])
