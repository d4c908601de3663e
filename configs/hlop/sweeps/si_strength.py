"""Synaptic Intelligence's strength c x damping xi on configs/hlop/si.gin, seed 0 (the point si.gin binds was chosen
here): c in {0.1, 0.3, 1, 3, 10} x xi in {0.1, 1}, plus (3, 3), (10, 3), (30, 1), (30, 3), (100, 1), (100, 3);
16 runs (strengths change the program, so they do not vmap).

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/hlop/si.gin --sweep=configs/hlop/sweeps/si_strength.py \
    --workdir=/tmp/cl/si_strength --sweep_workers=1
"""

GRID = [(c, xi) for c in (0.1, 0.3, 1.0, 3.0, 10.0) for xi in (0.1, 1.0)]
GRID += [(3.0, 3.0), (10.0, 3.0), (30.0, 1.0), (30.0, 3.0), (100.0, 1.0), (100.0, 3.0)]


def sweep(h):
  points = h.zip(
    [
      h.sweep('regularizers.SI.strength', [c for c, _ in GRID]),
      h.sweep('regularizers.SI.damping', [xi for _, xi in GRID]),
    ]
  )
  return h.product([h.fixed('DATA_SEED', 0), points, h.fixed('SEED', 0)])
