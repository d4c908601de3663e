"""The adding problem at T = 1000 (600 steps), at T = 100 (2000 steps: is the T = 1000 failure the budget or a
bug?) and at T = 200 (1000 steps, the configs' defaults) x 3 seeds, for one of the adding_*.gin configs (elm,
elm_capped, lstm). Each (length, steps) pair is its own program; its seeds vmap (--vmap_trials).

  for m in elm elm_capped lstm; do
    flock /tmp/brainnets-cpu.lock launch --gin_file=configs/elm_neuron/adding_$m.gin \
      --sweep=configs/elm_neuron/sweeps/adding.py --workdir=/tmp/elm_neuron/adding/$m --vmap_trials --sweep_workers=1
  done
  launch report /tmp/elm_neuron/adding --analysis=projects.elm_neuron.analysis:tables
"""

SEEDS = [0, 1, 2]


def sweep(h):
  budgets = h.zip([h.sweep('LENGTH', [1000, 100, 200]), h.sweep('NUM_STEPS', [600, 2000, 1000])])
  return h.product([budgets, h.sweep('SEED', SEEDS)])
