"""Seeds of the SDR-theory check (closed forms against Monte-Carlo). Every random stream derives from SEED; the
entry point keeps one histogram set per seed, so the seeds may share one launch (--vmap_trials), but their samplers
run one after another on the host: the cost grows with the number of seeds either way.

The README's table (one seed, the paper grid; about 3-15 minutes on 2 shared cores):

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/sdr_theory/paper_sweep.gin \
    --sweep=configs/sdr_theory/sweeps/seeds.py --workdir=/tmp/sdr_theory/paper --sweep_workers=1
  launch report /tmp/sdr_theory/paper --analysis=projects.sdr_theory.analysis:closed_forms \
    --out=projects/sdr_theory/results
More seeds: add them to SEEDS (each one repeats the whole Monte-Carlo).
"""

SEEDS = [0]


def sweep(h):
  return h.sweep('SEED', SEEDS)
