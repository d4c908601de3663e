"""The spiking rows (configs/hlop/spiking_finetune.gin, spiking_hlop.gin; add
--gin.projection.HLOP.projector="'raw'" for the code's raw projector) at the configs' protocol: 5 tasks x
300 steps per task (until 2026-12-03 evening the README's table used 100), x seeds 0-4 over ONE task sequence
(DATA_SEED 0), seeds vmapped (--vmap_trials: one program per config).

  for c in spiking_finetune spiking_hlop; do
    flock /tmp/brainnets-cpu.lock launch --gin_file=configs/hlop/$c.gin --sweep=configs/hlop/sweeps/spiking.py \
      --workdir=/tmp/cl/spiking/$c --vmap_trials --sweep_workers=1
  done
  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/hlop/spiking_hlop.gin --sweep=configs/hlop/sweeps/spiking.py \
    --workdir=/tmp/cl/spiking/hlop_raw --vmap_trials --sweep_workers=1 --gin.projection.HLOP.projector="'raw'"
  launch report /tmp/cl/spiking --group_by=trainer.train.learner,HLOP.projector \
    --analysis=common.continual.report:continual
"""

SEEDS = [0, 1, 2, 3, 4]
NUM_STEPS = 300  # per task (the configs' protocol)


def sweep(h):
  return h.product([h.fixed('DATA_SEED', 0), h.fixed('NUM_STEPS', NUM_STEPS), h.sweep('SEED', SEEDS)])
