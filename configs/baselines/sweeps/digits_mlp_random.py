"""Seeded random search over the digits MLP's learning rate and dropout, zipped with a seed per trial.

  launch --gin_file=configs/baselines/digits_mlp.gin --sweep=configs/baselines/sweeps/digits_mlp_random.py \
    --list_trials
"""


def sweep(h):
  return h.zip(
    [
      h.random_search({'LEARNING_RATE': h.loguniform(1e-4, 1e-2), 'mlp.MLP.dropout': h.uniform(0.0, 0.3)}, n=4, seed=0),
      h.sweep('SEED', [0, 1, 2, 3]),
    ]
  )
