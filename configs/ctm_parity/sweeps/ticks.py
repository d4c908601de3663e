"""The parity table's T axis: ITERATIONS in {1, 4, 8, 16} x 3 seeds, seeds vmapped (one program per T with
--vmap_trials). Run it on the CTM and on the parameter-matched LSTM, into one root with the ablations
(sweeps/seeds.py); the commands for the README's tables are in projects/ctm_parity/README.md.

  launch --gin_file=configs/ctm_parity/ctm_t16.gin --sweep=configs/ctm_parity/sweeps/ticks.py \
    --workdir=/tmp/ctm_parity/4000/ctm --vmap_trials --sweep_workers=1
  launch --gin_file=configs/ctm_parity/lstm_t16.gin --sweep=configs/ctm_parity/sweeps/ticks.py \
    --workdir=/tmp/ctm_parity/4000/lstm --vmap_trials --sweep_workers=1
  launch report /tmp/ctm_parity/4000 --analysis=projects.ctm_parity.analysis:parity
"""


def sweep(h):
  return h.product([h.sweep('ITERATIONS', [1, 4, 8, 16]), h.sweep('SEED', [0, 1, 2])])
