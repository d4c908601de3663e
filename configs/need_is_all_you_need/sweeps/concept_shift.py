"""The concept-shift table: 5 learners x 7 shift conditions x 10 seeds on configs/need_is_all_you_need/concept_shift.gin
(20 epochs of 143 online updates).

Learners (MODE, LR_INIT): homeostatic, random and constant regulation at eta0 = 0.01; constant_2x = a constant rate
of 0.02 (about the mean eta random regulation drifts to) and homeostatic_2x = regulation from eta0 = 0.02 (lr_step
eta0 / 10), the matched-rate control. Conditions: 0, 1, 2, 5, 10, 20 label swaps per epoch, and seasonal shift
(SWAPS 10 + 10 sin(2 pi epoch / 10)). Seeds vmap (--vmap_trials): one program per (learner, condition).

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/need_is_all_you_need/concept_shift.gin \
    --sweep=configs/need_is_all_you_need/sweeps/concept_shift.py --workdir=/tmp/need/concept_shift \
    --vmap_trials --sweep_workers=1
  launch report /tmp/need/concept_shift --group_by=SWAPS,SEASONAL_AMPLITUDE,MODE,LR_INIT \
    --metrics=mean_online_accuracy,mean_accuracy,mean_lr \
    --analysis=projects.need_is_all_you_need.analysis:concept_shift
"""

SEEDS = list(range(10))


def learners(h):
  return h.zip(
    [
      h.sweep('MODE', ['homeostatic', 'random', 'constant', 'constant', 'homeostatic']),
      h.sweep('LR_INIT', [0.01, 0.01, 0.01, 0.02, 0.02]),
    ]
  )


def conditions(h):
  constant = h.product([h.sweep('SWAPS', [0, 1, 2, 5, 10, 20]), h.fixed('SEASONAL_AMPLITUDE', 0.0)])
  seasonal = h.product([h.fixed('SWAPS', 10), h.fixed('SEASONAL_AMPLITUDE', 10.0)])
  return h.chain([constant, seasonal])


def sweep(h):
  return h.product([learners(h), conditions(h), h.sweep('SEED', SEEDS)])
