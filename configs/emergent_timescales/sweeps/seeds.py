"""5 seeds of one emergent-timescales configuration (a row of the single- vs multi-head tables).

  launch --gin_file=configs/emergent_timescales/parity_multi_head.gin \
    --sweep=configs/emergent_timescales/sweeps/seeds.py --workdir=/tmp/et/parity_multi --sweep_workers=1
  launch report /tmp/et
"""


def sweep(h):
  return h.sweep('SEED', [0, 1, 2, 3, 4])
