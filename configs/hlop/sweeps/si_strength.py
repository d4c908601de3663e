"""Synaptic Intelligence's strength c x damping xi on configs/hlop/si.gin (the point si.gin binds was chosen here):
c in {0.1, 0.3, 1, 3, 10} x xi in {0.1, 1}, plus (3, 3), (10, 3), (30, 1), (30, 3), (100, 1), (100, 3); x seeds 0-2
over ONE task sequence (DATA_SEED 0, as sweeps/seeds.py). A point's strength and damping change the program (they
are not optimizer numbers), so --vmap_trials makes one vmapped program per point, its 3 seeds the members: 16
programs of about 25 s each on this repo's 2-core machine. The removed script's grid was seed 0 only.

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/hlop/si.gin --sweep=configs/hlop/sweeps/si_strength.py \
    --workdir=/tmp/cl/si_strength --vmap_trials --sweep_workers=1
"""

GRID = [(c, xi) for c in (0.1, 0.3, 1.0, 3.0, 10.0) for xi in (0.1, 1.0)]
GRID += [(3.0, 3.0), (10.0, 3.0), (30.0, 1.0), (30.0, 3.0), (100.0, 1.0), (100.0, 3.0)]
SEEDS = [0, 1, 2]


def sweep(h):
  points = h.zip(
    [
      h.sweep('regularizers.SI.strength', [c for c, _ in GRID]),
      h.sweep('regularizers.SI.damping', [xi for _, xi in GRID]),
    ]
  )
  return h.product([h.fixed('DATA_SEED', 0), points, h.sweep('SEED', SEEDS)])
