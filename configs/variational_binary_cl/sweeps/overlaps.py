"""The teacher-student table: teacher overlap rho in {0, 0.5, 0.9} x seeds 0, 1, 2 for
configs/variational_binary_cl/teacher_student_{naive,variational}.gin. Each seed draws its own teachers and examples
(DATA_SEED follows SEED, the paper's protocol of independent realisations), so the trials run one by one (no
--vmap_trials); a run takes seconds.

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/variational_binary_cl/teacher_student_naive.gin \
    --sweep=configs/variational_binary_cl/sweeps/overlaps.py --workdir=/tmp/vbcl/teacher_student/naive \
    --sweep_workers=1
"""

OVERLAPS = [0.0, 0.5, 0.9]
SEEDS = [0, 1, 2]


def sweep(h):
  return h.product([h.sweep('OVERLAP', OVERLAPS), h.sweep('SEED', SEEDS)])
