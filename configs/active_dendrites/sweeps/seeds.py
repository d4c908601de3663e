"""5 seeds of one active-dendrites config (ad_kwinners, kwinners_only, dendrites_only, mlp x 10 or 50 tasks). The
entry point derives each seed's task permutations and prototypes from the seed inside the run, so the seeds vmap
(--vmap_trials: one program, each member with its own task stream).

The README's main table (the eight configs, then its controls), each one launch per config (2026-12-04: 18-578 s
each, about 32 locked minutes in all):

  R=/tmp/active_dendrites/full
  for t in 10 50; do for v in ad_kwinners kwinners_only dendrites_only mlp; do
    flock /tmp/brainnets-cpu.lock launch --gin_file=configs/active_dendrites/${v}_$t.gin \
      --sweep=configs/active_dendrites/sweeps/seeds.py --workdir=$R/${v}_$t --vmap_trials --sweep_workers=1
  done; done
  launch report $R --analysis=projects.active_dendrites.analysis:models

  controls (under $R/controls/): mlp_10.gin with --gin.active_dendrites.DendriticMLP.hidden='(640, 640)',
  mlp_50.gin with --gin.active_dendrites.DendriticMLP.hidden='(1250, 1250)' (parameter-matched MLPs),
  ad_kwinners_10.gin with --gin.projects.active_dendrites.experiment.run.center_context=False (raw prototypes);
  the README has the exact commands.
"""

SEEDS = [0, 1, 2, 3, 4]


def sweep(h):
  return h.sweep('SEED', SEEDS)
