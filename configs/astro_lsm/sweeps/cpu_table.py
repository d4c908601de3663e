"""The CPU table of projects/astro_lsm/README.md: one config (LSM, LSM+STDP or NALSM) x 5 seeds as one vmapped
program, sized to a few minutes per config on 2 cores (LSM 21 s, NALSM 124 s, LSM+STDP 249 s under load).
SEED drives the Poisson streams, the batch order and the
read-out's init; every seed shares the liquid's wiring (network_seed 0: the wiring is static, so seeds with their
own wiring would be five programs; sweeps/seeds.py runs those). Protocol: 50 read-out steps of 8 images (Adam
1e-2), the first 25 also a step of plastic initialisation (4 images x 20 ms each), 75-ms presentations (the
branching factor counts spikes between its 25-ms edge buffers), 100 test digits, evaluated at steps 25 and 50.

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/astro_lsm/nalsm_digits.gin \
    --sweep=configs/astro_lsm/sweeps/cpu_table.py --vmap_trials --workdir=/tmp/astro_lsm/nalsm
  (likewise lsm_digits.gin -> /tmp/astro_lsm/lsm, lsm_stdp_digits.gin -> /tmp/astro_lsm/lsm_stdp)
  launch report /tmp/astro_lsm --group_by=PLASTICITY_MODE,PRESENTATION_PLASTICITY \
    --metrics=accuracy,branching_factor,reservoir_rate --analysis=projects.astro_lsm.analysis:comparison
"""


def sweep(h):
  return h.product(
    [
      h.fixed('NUM_STEPS', 50),
      h.fixed('BATCH_SIZE', 8),
      h.fixed('LEARNING_RATE', 1e-2),
      h.fixed('PLASTIC_STEPS', 25),
      h.fixed('PRESENTATION_STEPS', 75),
      h.fixed('EVAL_EVERY', 25),
      h.fixed('EVAL_EXAMPLES', 100),
      h.sweep('SEED', [0, 1, 2, 3, 4]),
    ]
  )
