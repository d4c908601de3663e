"""Spike adding at gaps 50, 200 and 800 x 3 seeds, 600 optimizer steps each (the README's protocol), for one of the
spike_adding_*.gin configs (elm, branch_elm, elm_capped, lstm, gru). Each gap is its own program (the task's length
changes); its seeds vmap (--vmap_trials).

  for m in elm branch_elm elm_capped lstm gru; do
    flock /tmp/brainnets-cpu.lock launch --gin_file=configs/elm_neuron/spike_adding_$m.gin \
      --sweep=configs/elm_neuron/sweeps/spike_adding.py --workdir=/tmp/elm_neuron/spike_adding/$m \
      --vmap_trials --sweep_workers=1
  done
  launch report /tmp/elm_neuron/spike_adding --analysis=projects.elm_neuron.analysis:tables
"""

GAPS = [50, 200, 800]
SEEDS = [0, 1, 2]


def sweep(h):
  return h.product([h.fixed('NUM_STEPS', 600), h.sweep('GAP', GAPS), h.sweep('SEED', SEEDS)])
