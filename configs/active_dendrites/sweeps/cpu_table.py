"""The README's CPU-sized table in one sweep: the four models (active dendrites + k-winners, k-winners only, active
dendrites only, MLP) and the controls (a parameter-matched wide MLP; at 10 tasks also active dendrites + k-winners
with raw, uncentered prototypes) at 10 tasks x 100 steps per task (lr 1e-3) and at 20 tasks x 40 steps per task (lr
5e-4), x 5 seeds. Run it on configs/active_dendrites/ad_kwinners_10.gin: the blocks below set NUM_TASKS (which also
sets the number of segments), NUM_STEPS and LEARNING_RATE, and the models switch dendrites, k-winners, weight
sparsity, hidden widths and context centering, so every row is one vmapped program of its 5 seeds (--vmap_trials).

Shrunk from the configs' protocol (10 tasks x 300 steps, 50 tasks x 150 steps: about 32 locked minutes for the
README's main table, a 50-task dendritic program 8-10 of them); this sweep takes about 5 locked minutes.

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/active_dendrites/ad_kwinners_10.gin \
    --sweep=configs/active_dendrites/sweeps/cpu_table.py --workdir=/tmp/active_dendrites/cpu --vmap_trials \
    --sweep_workers=1
  launch report /tmp/active_dendrites/cpu --analysis=projects.active_dendrites.analysis:models
"""

SEEDS = [0, 1, 2, 3, 4]
# (NUM_TASKS, steps per task, learning rate, hidden widths of the MLP matched to the dendritic networks' parameters)
# Dendritic parameters: 85,002 + 2 x 256 x NUM_TASKS x 64 (412,682 at 10 tasks, 740,362 at 20); an MLP of width h
# has h^2 + 76 h + 10 (640: 458,250; 825: 743,335).
BLOCKS = [(10, 100, 1e-3, (640, 640)), (20, 40, 5e-4, (825, 825))]


def _model(h, use_dendrites, percent_on, weight_sparsity, hidden=(256, 256), center_context=True):
  return h.product(
    [
      h.fixed('active_dendrites.DendriticMLP.use_dendrites', use_dendrites),
      h.fixed('active_dendrites.DendriticMLP.percent_on', percent_on),
      h.fixed('active_dendrites.DendriticMLP.weight_sparsity', weight_sparsity),
      h.fixed('active_dendrites.DendriticMLP.hidden', hidden),
      h.fixed('projects.active_dendrites.experiment.run.center_context', center_context),
    ]
  )


def sweep(h):
  blocks = []
  for tasks, steps, lr, wide in BLOCKS:
    models = h.chain(
      [
        _model(h, True, 0.1, 0.5),  # active dendrites + k-winners
        _model(h, False, 0.1, 0.5),  # k-winners only
        _model(h, True, None, 0.5),  # active dendrites only
        _model(h, False, None, 0.0),  # MLP
        _model(h, False, None, 0.0, hidden=wide),  # MLP widened to the dendritic parameter count
      ]
      + ([_model(h, True, 0.1, 0.5, center_context=False)] if tasks == 10 else [])  # raw prototypes (README)
    )
    setting = h.product([h.fixed('NUM_TASKS', tasks), h.fixed('NUM_STEPS', steps), h.fixed('LEARNING_RATE', lr)])
    blocks.append(h.product([setting, models, h.sweep('SEED', SEEDS)]))
  return h.chain(blocks)
