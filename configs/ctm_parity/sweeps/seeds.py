"""3 seeds of one parity experiment (the ablations, the D=256 pair, the 20000-step runs), vmapped (one program with
--vmap_trials); the commands for the README's tables are in projects/ctm_parity/README.md, e.g.

  launch --gin_file=configs/ctm_parity/ablation_shared_nlm.gin --sweep=configs/ctm_parity/sweeps/seeds.py \
    --workdir=/tmp/ctm_parity/4000/shared_nlm --vmap_trials --sweep_workers=1
  launch report /tmp/ctm_parity/4000 --analysis=projects.ctm_parity.analysis:parity
"""


def sweep(h):
  return h.sweep('SEED', [0, 1, 2])
