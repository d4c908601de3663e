"""The adaptive-reservoir comparison on one task config (memory_capacity.gin, mackey_glass.gin or narma10.gin):
the global E/I sweep (no adaptation, INHIBITION_SCALE 0.5 ... 3, 1 = balanced) and local adaptation of every
neuron's inhibitory gain toward homogeneous or heterogeneous (log-normal, spread 0.5) target rates 0.1 ... 0.4 at
INHIBITION_SCALE 1; 5 seeds each (per seed the same reservoir weights and series for every setting). Seeds vmap
(--vmap_trials): the entry point stacks every seed's reservoir, one program per setting.

  for t in memory_capacity mackey_glass narma10; do
    flock /tmp/brainnets-cpu.lock launch --gin_file=configs/adaptive_reservoir/$t.gin \
      --sweep=configs/adaptive_reservoir/sweeps/ei_balance.py --workdir=/tmp/ar/$t --vmap_trials --sweep_workers=1
  done
  launch report /tmp/ar --group_by=experiment.run.task,ADAPTATION,INHIBITION_SCALE,TARGET \
    --metrics=score,mean_rate --analysis=projects.adaptive_reservoir.analysis:ei_balance
"""

SEEDS = [0, 1, 2, 3, 4]
GLOBAL_SCALES = [0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0]
TARGET_RATES = [0.1, 0.2, 0.3, 0.4]


def sweep(h):
  global_sweep = h.product([h.fixed('ADAPTATION', 'none'), h.sweep('INHIBITION_SCALE', GLOBAL_SCALES)])
  local = h.product([h.sweep('ADAPTATION', ['homogeneous', 'heterogeneous']), h.sweep('TARGET', TARGET_RATES)])
  return h.product([h.chain([global_sweep, local]), h.sweep('SEED', SEEDS)])
