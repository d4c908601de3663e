"""Validation search of the adaptation step sizes (the search declared in projects/nhl_tta/README.md).

The source model trains on train[:80%] of digits and adapts online to the 12 corrupted domains of train[80%:]
(the test split is never read), seeds 100-102 (disjoint from the reported 0-4); every method gets its step sizes
from this search:
  tent     ADAPT_LR in {1e-4, 1e-3, 1e-2}                               (3 settings)
  hebbian  HEBBIAN_LR in {1e-3, 1e-2, 1e-1}                             (3)
  nhl      ADAPT_LR in {1e-4, 1e-3, 1e-2} x HEBBIAN_LR in {1e-3, 1e-2, 1e-1} (9: NHL, the method under test, gets the
           larger budget)
  source, norm                                                          (no step size; for reference)
17 settings x 3 seeds; the seeds of a setting are one vmapped program (each trains its own source models).

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/nhl_tta/online.gin --sweep=configs/nhl_tta/sweeps/search.py \
    --workdir=/tmp/nhl_search --vmap_trials --sweep_workers=1
  launch report /tmp/nhl_search --group_by=METHOD,ADAPT_LR,HEBBIAN_LR --metrics=online_accuracy,source_accuracy \
    --out=projects/nhl_tta/results/search
"""

VALIDATION = {'pipeline.load_tfds.train_split': 'train[:80%]', 'pipeline.load_tfds.eval_split': 'train[80%:]'}
SEEDS = [100, 101, 102]
ADAPT_LRS = [1e-4, 1e-3, 1e-2]
HEBBIAN_LRS = [1e-3, 1e-2, 1e-1]


def sweep(h):
  validation = h.product([h.fixed(k, v) for k, v in VALIDATION.items()])
  methods = h.chain(
    [
      h.sweep('METHOD', ['source', 'norm']),
      h.product([h.fixed('METHOD', 'tent'), h.sweep('ADAPT_LR', ADAPT_LRS)]),
      h.product([h.fixed('METHOD', 'hebbian'), h.sweep('HEBBIAN_LR', HEBBIAN_LRS)]),
      h.product([h.fixed('METHOD', 'nhl'), h.sweep('ADAPT_LR', ADAPT_LRS), h.sweep('HEBBIAN_LR', HEBBIAN_LRS)]),
    ]
  )
  return h.product([validation, methods, h.sweep('SEED', SEEDS)])
