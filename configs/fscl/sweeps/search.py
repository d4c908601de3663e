"""Validation search of the fast/slow learner's two knobs (the search declared in projects/fscl/README.md).

configs/fscl/fast_slow.gin at SHOTS = 10 on a validation split of digits (tasks and probe episodes take their
shots from train[:80%] and are scored on train[80%:]; the test split is never read), one task sequence DATA_SEED =
100 (class order and held-out classes disjoint in seed from the reported DATA_SEED = 0) and init seeds 100-102,
one knob at a time around the config's values (strength 10, SLOW_RATE 0.5), to fit the compute budget:
  SLOW_RATE (beta, the slow weights' step toward each task's fast weights) in {0.25, 0.5, 1.0} at strength 10
  fscl.FastSlow.strength (lambda, the metaplastic consolidation) in {1, 100} at SLOW_RATE 0.5
The setting kept maximises the validation mean of (acc + few_shot_accuracy) / 2 (both claims). 5 settings x 3
seeds; the seeds of a setting are one vmapped program (DATA_SEED fixed).

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/fscl/fast_slow.gin --sweep=configs/fscl/sweeps/search.py \
    --workdir=/tmp/fscl_search --vmap_trials --sweep_workers=1
  launch report /tmp/fscl_search --group_by=FastSlow.strength,SLOW_RATE --metrics=acc,few_shot_accuracy \
    --out=/tmp/fscl_search/report
"""

VALIDATION = {'pipeline.load_tfds.train_split': 'train[:80%]', 'pipeline.load_tfds.eval_split': 'train[80%:]'}
DATA_SEED = 100
SEEDS = [100, 101, 102]


def sweep(h):
  fixed = h.product([h.fixed(k, v) for k, v in VALIDATION.items()] + [h.fixed('DATA_SEED', DATA_SEED)])
  knobs = h.chain(
    [
      h.product([h.fixed('fscl.FastSlow.strength', 10.0), h.sweep('SLOW_RATE', [0.25, 0.5, 1.0])]),
      h.product([h.sweep('fscl.FastSlow.strength', [1.0, 100.0]), h.fixed('SLOW_RATE', 0.5)]),
    ]
  )
  return h.product([fixed, h.fixed('SHOTS', 10), knobs, h.sweep('SEED', SEEDS)])
