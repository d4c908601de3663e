"""The concept-shift table at the CPU size the README's table ran: 5 learners x 5 shift conditions x 5 seeds on
configs/need_is_all_you_need/concept_shift.gin, 5 epochs of 143 online updates (NUM_STEPS 715).

The old table (removed run_results.py, 2026-11-22) ran 20 epochs (NUM_STEPS 2860), 10 seeds and 7 conditions (also
1 and 10 swaps/epoch, seasonal period 10 epochs); that is 35 programs of about 23 s each on this 2-core machine,
more than the locked budget. To run it: NUM_STEPS = 2860, SEEDS = range(10), SWAP_RATES = [0, 1, 2, 5, 10, 20],
SEASONAL_PERIOD = 10.0.

Learners (MODE, LR_INIT): homeostatic, random and constant regulation at eta0 = 0.01; constant_2x = a constant rate
of 0.02 (about the mean eta random regulation drifts to) and homeostatic_2x = regulation from eta0 = 0.02 (lr_step
eta0 / 10), the matched-rate control. Conditions: SWAP_RATES label swaps per epoch, and seasonal shift (SWAPS
10 + 10 sin(2 pi epoch / SEASONAL_PERIOD): 10, 20, 16, 4, 0 swaps in the 5 epochs, one full period). Seeds vmap
(--vmap_trials): one program per (learner, condition).

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/need_is_all_you_need/concept_shift.gin \
    --sweep=configs/need_is_all_you_need/sweeps/concept_shift.py --workdir=/tmp/need/concept_shift \
    --vmap_trials --sweep_workers=1
  launch report /tmp/need/concept_shift --group_by=SWAPS,SEASONAL_AMPLITUDE,MODE,LR_INIT \
    --metrics=mean_online_accuracy,mean_accuracy,mean_lr \
    --analysis=projects.need_is_all_you_need.analysis:concept_shift
"""

NUM_STEPS = 715  # 5 epochs of the 1438 digits training images in batches of 10
SEEDS = [0, 1, 2, 3, 4]
SWAP_RATES = [0, 2, 5, 20]
SEASONAL_PERIOD = 5.0  # epochs: one full period within the NUM_STEPS above


def learners(h):
  return h.zip(
    [
      h.sweep('MODE', ['homeostatic', 'random', 'constant', 'constant', 'homeostatic']),
      h.sweep('LR_INIT', [0.01, 0.01, 0.01, 0.02, 0.02]),
    ]
  )


def conditions(h):
  constant = h.product([h.sweep('SWAPS', SWAP_RATES), h.fixed('SEASONAL_AMPLITUDE', 0.0)])
  seasonal = h.product([h.fixed('SWAPS', 10), h.fixed('SEASONAL_AMPLITUDE', 10.0)])
  return h.chain([constant, seasonal])


def sweep(h):
  return h.product(
    [
      h.fixed('NUM_STEPS', NUM_STEPS),
      h.fixed('SEASONAL_PERIOD', SEASONAL_PERIOD),
      learners(h),
      conditions(h),
      h.sweep('SEED', SEEDS),
    ]
  )
