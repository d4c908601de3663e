"""The NHL table's adapting rows: tent, hebbian and nhl at the step sizes the validation search picked
(configs/nhl_tta/sweeps/search.py: highest validation online_accuracy per method; the search was flat, every
setting within 0.002 of the others), 5 source seeds each (SEED 0-4; the seeds of a method are one vmapped program).
The source and norm rows have no step size and are the same config at METHOD 'source' / 'norm':
  launch --gin_file=configs/nhl_tta/online.gin --seeds=0,1,2,3,4 --gin.METHOD="'source'" --workdir=/tmp/nhl/source

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/nhl_tta/online.gin --sweep=configs/nhl_tta/sweeps/table.py \
    --workdir=/tmp/nhl/adapted --vmap_trials --sweep_workers=1
"""

SEEDS = [0, 1, 2, 3, 4]
PICKED = [  # (METHOD, ADAPT_LR, HEBBIAN_LR) from the validation search
  ('tent', 1e-4, 1e-2),
  ('hebbian', 1e-3, 1e-2),
  ('nhl', 1e-4, 1e-2),
]


def sweep(h):
  settings = h.chain(
    [h.product([h.fixed('METHOD', m), h.fixed('ADAPT_LR', a), h.fixed('HEBBIAN_LR', b)]) for m, a, b in PICKED]
  )
  return h.product([settings, h.sweep('SEED', SEEDS)])
