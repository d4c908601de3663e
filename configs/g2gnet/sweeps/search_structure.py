"""Validation search of the G2G partition (the search declared in projects/g2gnet/README.md).

Static G2G at 75% sparsity (the claim's setting) on a validation split of the digits train set (train on
train[:80%], score on train[80%:]; the test split is never read), seeds 100-102 (disjoint from the reported 0-4):
  NUM_ENSEMBLES G in {4, 8, 16} with 'index' grouping (contiguous units), and G = 8 with 'random' grouping.
4 settings x 3 seeds per model; the seeds of a setting are one vmapped program.

  flock /tmp/brainnets-cpu.lock launch --gin_file=configs/g2gnet/mlp_g2g.gin \
    --sweep=configs/g2gnet/sweeps/search_structure.py --workdir=/tmp/g2g_search/mlp --vmap_trials --sweep_workers=1
  (the same with cnn_g2g.gin and /tmp/g2g_search/cnn)
  launch report /tmp/g2g_search --group_by=loop.train.model,NUM_ENSEMBLES,GROUPING --metrics=accuracy \
    --out=projects/g2gnet/results/search
"""

VALIDATION = {'pipeline.load_tfds.train_split': 'train[:80%]', 'pipeline.load_tfds.eval_split': 'train[80%:]'}
SEEDS = [100, 101, 102]


def sweep(h):
  validation = h.product([h.fixed(k, v) for k, v in VALIDATION.items()])
  groups = h.sweep('NUM_ENSEMBLES', [4, 8, 16, 8])
  partition = h.zip([groups, h.sweep('GROUPING', ['index', 'index', 'index', 'random'])])
  return h.product([validation, h.fixed('SPARSITY', 0.75), partition, h.sweep('SEED', SEEDS)])
