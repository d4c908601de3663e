"""The HLOP code's raw projector x - H^T H x (projection.HLOP.projector='raw') instead of the exact projector onto
the complement of span(H), x seeds 0-2 over one task sequence (DATA_SEED 0; seeds vmapped). For configs/hlop/hlop.gin
and spiking_hlop.gin (and hlop_large.gin). A seed whose loss turns non-finite is recorded as a failed trial (launch
report lists it under "Not averaged" with the step); the other seeds run on. projects/hlop/README.md's digits runs:

  for c in hlop hlop_large; do
    flock /tmp/brainnets-cpu.lock launch --gin_file=configs/hlop/$c.gin --sweep=configs/hlop/sweeps/raw_projector.py \
      --workdir=/tmp/cl/digits/hlop_raw/$c --vmap_trials --sweep_workers=1
  done
"""

SEEDS = [0, 1, 2]


def sweep(h):
  return h.product([h.fixed('DATA_SEED', 0), h.fixed('projection.HLOP.projector', 'raw'), h.sweep('SEED', SEEDS)])
