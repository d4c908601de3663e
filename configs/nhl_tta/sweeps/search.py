"""Validation search of the adaptation step sizes (the search declared in projects/nhl_tta/README.md).

The source model trains on train[:80%] of digits and adapts online to the 12 corrupted domains of train[80%:]
(the test split is never read), seeds 100-102 (disjoint from the reported 0-4). Sized to the compute budget
(each setting trains its own source models, ~30 s a program):
  tent     ADAPT_LR in {1e-4, 1e-3, 1e-2}                            (3 settings)
  hebbian  HEBBIAN_LR in {1e-3, 1e-2}                                (2)
  nhl      ADAPT_LR in {1e-4, 1e-3} x HEBBIAN_LR in {1e-3, 1e-2}     (4)
source and norm have no step size and are not searched. 9 settings x 3 seeds; the seeds of a setting are one
vmapped program. Each method keeps its setting of highest validation online_accuracy.

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/nhl_tta/online.gin --sweep=configs/nhl_tta/sweeps/search.py \
    --workdir=/tmp/nhl_search --vmap_trials --sweep_workers=1
  launch report /tmp/nhl_search --group_by=METHOD,ADAPT_LR,HEBBIAN_LR --metrics=online_accuracy,source_accuracy \
    --analysis=projects.nhl_tta.analysis:online --out=/tmp/nhl_search/report
"""

VALIDATION = {'pipeline.load_tfds.train_split': 'train[:80%]', 'pipeline.load_tfds.eval_split': 'train[80%:]'}
SEEDS = [100, 101, 102]


def sweep(h):
  validation = h.product([h.fixed(k, v) for k, v in VALIDATION.items()])
  methods = h.chain(
    [
      h.product([h.fixed('METHOD', 'tent'), h.sweep('ADAPT_LR', [1e-4, 1e-3, 1e-2])]),
      h.product([h.fixed('METHOD', 'hebbian'), h.sweep('HEBBIAN_LR', [1e-3, 1e-2])]),
      h.product([h.fixed('METHOD', 'nhl'), h.sweep('ADAPT_LR', [1e-4, 1e-3]), h.sweep('HEBBIAN_LR', [1e-3, 1e-2])]),
    ]
  )
  return h.product([validation, methods, h.sweep('SEED', SEEDS)])
