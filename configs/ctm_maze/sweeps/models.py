"""The maze table: the CTM and its parameter-matched LSTM (read at its last tick) x 3 seeds, on configs/ctm_maze/
ctm_maze.gin; seeds vmapped (one program per model with --vmap_trials; the LSTM's vmapped init hung before
commit 508bf4a). The README table is this sweep at these settings (38 locked minutes on 2 cores); see
projects/ctm_maze/README.md.

  launch --gin_file=configs/ctm_maze/ctm_maze.gin --sweep=configs/ctm_maze/sweeps/models.py \
    --workdir=/tmp/ctm_maze/models --vmap_trials --sweep_workers=1
  launch report /tmp/ctm_maze/models --group_by=MODEL --analysis=projects.ctm_maze.analysis:generalisation
"""


def sweep(h):
  models = h.zip(
    [
      h.sweep('MODEL', [h.ref('ctm.CTM'), h.ref('lstm.LSTMBaseline')]),
      h.sweep('USE_MOST_CERTAIN', [True, False]),
    ]
  )
  return h.product([models, h.sweep('SEED', [0, 1, 2])])
