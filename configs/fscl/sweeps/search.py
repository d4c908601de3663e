"""Validation search of the fast/slow learner's two knobs (the search declared in projects/fscl/README.md).

configs/fscl/fast_slow.gin at SHOTS = 10 on a validation split of digits (tasks and probe episodes take their
shots from train[:80%] and are scored on train[80%:]; the test split is never read), seeds 100-102 (each seed is
its own class order, so three different task sequences and held-out sets, disjoint from the reported seeds 0-4):
  fscl.FastSlow.strength (lambda, the metaplastic consolidation) in {1, 10, 100}
  SLOW_RATE (beta, the slow weights' step toward each task's fast weights) in {0.25, 0.5, 1.0}
The setting kept maximises the validation mean of (acc + few_shot_accuracy) / 2 (both claims). 9 x 3 runs, one
process each (the stream is built from SEED, so seeds do not share a vmapped program).

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/fscl/fast_slow.gin --sweep=configs/fscl/sweeps/search.py \
    --workdir=/tmp/fscl_search --sweep_workers=1
  launch report /tmp/fscl_search --group_by=FastSlow.strength,SLOW_RATE --metrics=acc,few_shot_accuracy \
    --out=projects/fscl/results/search
"""

VALIDATION = {'pipeline.load_tfds.train_split': 'train[:80%]', 'pipeline.load_tfds.eval_split': 'train[80%:]'}
SEEDS = [100, 101, 102]


def sweep(h):
  validation = h.product([h.fixed(k, v) for k, v in VALIDATION.items()])
  knobs = h.product([h.sweep('fscl.FastSlow.strength', [1.0, 10.0, 100.0]), h.sweep('SLOW_RATE', [0.25, 0.5, 1.0])])
  return h.product([validation, h.fixed('SHOTS', 10), knobs, h.sweep('SEED', SEEDS)])
