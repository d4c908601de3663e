"""Single- vs multi-head curriculum x 5 seeds (configs/emergent_timescales/curriculum.gin); each KIND's seeds run as
one vmapped program (--vmap_trials). CPU protocol: N-parity from N = 2 to N_MAX = 8, hidden 64, 100-step epochs.

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/emergent_timescales/curriculum.gin \
    --sweep=configs/emergent_timescales/sweeps/curricula.py --vmap_trials --workdir=/tmp/et/curricula

The README's other rows are the same sweep with a different core, task or budget, e.g.

  ... --workdir=/tmp/et/gated/gru --gin.CORE='@recurrent.GRU()' --gin.NUM_STEPS=2000       (LSTM: @recurrent.LSTM())
  ... --workdir=/tmp/et/dms --gin.TASK="'dms'" --gin.N_MAX=12 --gin.NUM_STEPS=3000

and one report tabulates every (TASK, CORE) found under the root:

  launch report /tmp/et --group_by=TASK,CORE,KIND \
    --analysis=projects.emergent_timescales.analysis:curricula
"""


def sweep(h):
  return h.product([h.sweep('KIND', ['single', 'multi']), h.sweep('SEED', [0, 1, 2, 3, 4])])
