"""Expressivity at equal parameter count: quadratic (fan form, ReLU) vs conventional ReLU vs conventional x^2
activation, at two parameter budgets, 5 seeds, on any of the three expressivity_*.gin tasks. The conventional
widths (8, 15) are the ones whose parameter counts are closest to the quadratic widths (4, 8); each run reports
its own num_params.

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/quadratic_networks/expressivity_rings.gin \
    --sweep=configs/quadratic_networks/sweeps/expressivity.py --workdir=/tmp/qn/expressivity/rings \
    --vmap_trials --sweep_workers=1
  (the same for expressivity_gaussian_mixture.gin and expressivity_poly_quartic.gin), then
  launch report /tmp/qn/expressivity --group_by=shapes2d.load.name,MODEL,ACT,WIDTH \
    --metrics=num_params,accuracy,rmse --analysis=projects.quadratic_networks.analysis:expressivity
"""

SEEDS = [0, 1, 2, 3, 4]


def sweep(h):
  quadratic = h.product([h.fixed('MODEL', h.ref('qmodels.QuadraticMLP')), h.sweep('WIDTH', [4, 8])])
  conventional = h.product(
    [h.fixed('MODEL', h.ref('mlp.MLP')), h.sweep('ACT', ['relu', 'square']), h.sweep('WIDTH', [8, 15])]
  )
  return h.product([h.chain([quadratic, conventional]), h.sweep('SEED', SEEDS)])
