"""3 seeds of one synaptic-delay config ({texture, motif} x {none, fixed, dcls, kernel}: 800 steps, then accuracy
with the input synapses pruned by magnitude). The seeds vmap (--vmap_trials: one program per config).

  for t in texture motif; do for v in none fixed dcls kernel; do
    flock /tmp/brainnets-cpu.lock launch --gin_file=configs/synaptic_delays/${t}_$v.gin \
      --sweep=configs/synaptic_delays/sweeps/seeds.py --workdir=/tmp/synaptic_delays/$t/$v \
      --vmap_trials --sweep_workers=1
  done; done
  launch report /tmp/synaptic_delays --analysis=projects.synaptic_delays.analysis:pruning
"""

SEEDS = [0, 1, 2]


def sweep(h):
  return h.sweep('SEED', SEEDS)
