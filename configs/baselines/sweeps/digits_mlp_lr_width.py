"""Learning rate x hidden width of the digits MLP (configs/baselines/digits_mlp.gin), plus two random seeds.

  launch --gin_file=configs/baselines/digits_mlp.gin --sweep=configs/baselines/sweeps/digits_mlp_lr_width.py \
    --list_trials
  launch --gin_file=configs/baselines/digits_mlp.gin --sweep=configs/baselines/sweeps/digits_mlp_lr_width.py \
    --gin.NUM_STEPS=300 --workdir=/tmp/digits_sweep --sweep_workers=2
"""


def sweep(h):
  return h.product(
    [
      h.sweep('LEARNING_RATE', [3e-4, 1e-3, 3e-3]),
      h.sweep('mlp.MLP.hidden', [(64,), (256, 256)]),
    ]
  )
