"""Regenerates the results of projects/quadratic_networks: JSON, the README table, and the plots.

  .venv/bin/python -m projects.quadratic_networks.run_results              # full (about 35 min on 2 busy cores)
  .venv/bin/python -m projects.quadratic_networks.run_results --quick      # smoke run (tiny steps, 2 seeds)
  .venv/bin/python -m projects.quadratic_networks.run_results --part=trainability

Each sweep point trains the configuration of a gin file in configs/quadratic_networks/ (named in the tables)
on several seeds at once (multiseed.train_seeds: the same train step, vmapped over seeds).
"""

import argparse
import json
import os
import re
import time

import numpy as np

from common.data import pipeline
from common.data.synthetic import shapes2d
from common.models.mlp import MLP
from common.quadratic import QuadraticMLP, relinear_optimizer
from common.train import optim, state, tasks
from projects.quadratic_networks.multiseed import train_seeds

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, 'results')
CHANCE_MARGIN = 0.05  # collapsed: non-finite parameters or eval accuracy <= chance + this margin

# --- Trainability: a 4-layer quadratic MLP on digits ------------------------------------------------------
WIDTH = (64, 64, 64)  # three quadratic hidden layers + a linear head = 4 layers
OPTIMIZERS = {
  # The authors' setting (ReLinear qtrainer: SGD, momentum 0.9, lr 0.1) and the house default (Adam 1e-3).
  'sgd_0.1': dict(name='sgd', learning_rate=0.1, b1=0.9),
  'adam_1e-3': dict(name='adam', learning_rate=1e-3),
}
VARIANTS = [
  # label, gin file, model factory, quadratic lr multiplier (None: plain optimizer)
  ('conventional', 'trainability_conventional.gin', lambda: MLP(hidden=WIDTH), None),
  ('naive init', 'trainability_naive.gin', lambda: QuadraticMLP(hidden=WIDTH, init_scheme='naive'), 1.0),
  ('ReLinear x0', 'trainability_relinear.gin', lambda: QuadraticMLP(hidden=WIDTH), 0.0),
  ('ReLinear x0.01', 'trainability_relinear.gin', lambda: QuadraticMLP(hidden=WIDTH), 0.01),
  ('ReLinear x0.1', 'trainability_relinear.gin', lambda: QuadraticMLP(hidden=WIDTH), 0.1),
  ('ReLinear x1', 'trainability_relinear.gin', lambda: QuadraticMLP(hidden=WIDTH), 1.0),
]


# ReLinear's second regulariser, shrinkage alpha ||W_g||^2 + beta ||W_b||^2 (alpha = beta), with the authors' SGD.
SHRINK_VARIANTS = [
  (
    f'ReLinear x{m} + shrink {a:g}',
    'trainability_relinear.gin',
    lambda a=a: QuadraticMLP(hidden=WIDTH, shrink_g=a, shrink_b=a),
    m,
  )
  for m, a in ((1.0, 1e-3), (1.0, 1e-2), (0.1, 1e-3))
]


def trainability(num_steps: int, seeds, optimizers=OPTIMIZERS, variants=VARIANTS) -> list[dict]:
  data = pipeline.load_tfds('sklearn_digits', scale=1 / 16)
  task = tasks.ClassificationTask(data=data, batch_size=64, num_classes=10)
  rows = []
  for opt_name, opt_kwargs in optimizers.items():
    base = lambda n, kw=opt_kwargs: optim.create_optimizer(n, **kw)  # noqa: E731
    for label, gin_file, make_model, mult in variants:
      tx = base(num_steps) if mult is None else relinear_optimizer(num_steps, base=base, quadratic_lr_multiplier=mult)
      start = time.time()
      out = train_seeds(make_model(), task, tx, num_steps, seeds)
      acc = np.where(out['finite'] > 0, out['accuracy'], np.nan)
      collapsed = (out['finite'] == 0) | (out['accuracy'] <= 0.1 + CHANCE_MARGIN)
      ok = acc[~collapsed]
      command = _command(gin_file, opt_kwargs, mult, num_steps, make_model().shrink_g if mult is not None else 0)
      rows.append(
        {
          'optimizer': opt_name,
          'variant': label,
          'multiplier': mult,
          'seeds': len(seeds),
          'num_steps': num_steps,
          'collapse_rate': float(collapsed.mean()),
          'accuracy_mean': float(np.nanmean(acc)) if np.isfinite(acc).any() else None,
          'accuracy_mean_not_collapsed': float(ok.mean()) if ok.size else None,
          'accuracy_std_not_collapsed': float(ok.std()) if ok.size else None,
          'per_seed_accuracy': [None if not np.isfinite(a) else float(a) for a in acc],
          'command': command,
          'seconds': round(time.time() - start, 1),
        }
      )
      print(json.dumps({k: rows[-1][k] for k in ('optimizer', 'variant', 'collapse_rate', 'accuracy_mean')}))
  return rows


def _command(gin_file, opt_kwargs, mult, num_steps, shrink=0.0):
  cmd = f'launch --gin_file=configs/quadratic_networks/{gin_file} --gin.SEED=<s> --gin.NUM_STEPS={num_steps}'
  cmd += f" --gin.OPTIMIZER='{opt_kwargs['name']}' --gin.LEARNING_RATE={opt_kwargs['learning_rate']}"
  if mult is not None and gin_file == 'trainability_relinear.gin':
    cmd += f' --gin.QUAD_LR_MULTIPLIER={mult}'
  if shrink:
    cmd += f' --gin.qmodels.QuadraticMLP.shrink_g={shrink:g} --gin.qmodels.QuadraticMLP.shrink_b={shrink:g}'
  return cmd + ' --workdir=/tmp/qn/<run>'


# --- Expressivity at equal parameter count ---------------------------------------------------------------
DATASETS = {
  'rings': dict(name='rings', noise=0.1, num_rings=4, num_classes=2),
  'gaussian_mixture': dict(name='gaussian_mixture', noise=0.15, grid=4),
  'poly_quartic': dict(name='poly_quartic', noise=0.0),
}
EXPRESSIVITY_STEPS = 2000
QUAD_WIDTHS = (4, 8)  # two hidden quadratic layers of this width; conventional widths are matched to it


def _num_params(model, x):
  import jax

  variables = jax.eval_shape(lambda: state.init_variables(model, x, jax.random.PRNGKey(0)))
  return state.count_params(variables['params'])


def _matched_width(make, target, x):
  best = min(range(1, 200), key=lambda w: abs(_num_params(make(w), x) - target))
  return best, _num_params(make(best), x)


def expressivity_command(row: dict) -> str:
  """The single-run equivalent of one expressivity sweep point (seed <s> of its seeds)."""
  model = {
    'quadratic (fan, ReLU)': '%QUADRATIC',
    'conventional (ReLU)': '%CONVENTIONAL',
    'conventional (x^2 activation)': '%CONVENTIONAL --gin.ACT="\'square\'"',
  }[row['model']]
  steps = row.get('num_steps', EXPRESSIVITY_STEPS)
  return (
    f'launch --gin_file=configs/quadratic_networks/expressivity_{row["dataset"]}.gin --gin.MODEL={model} '
    f'--gin.WIDTH={row["width"]} --gin.NUM_STEPS={steps} --gin.SEED=<s> --workdir=/tmp/qn/<run>'
  )


def expressivity(num_steps: int, seeds) -> list[dict]:
  rows = []
  for ds_name, ds_kwargs in DATASETS.items():
    data = shapes2d.load(**ds_kwargs, num_train=2000, num_eval=2000, seed=0)
    regression = ds_name.startswith('poly')
    out_dim = 1 if regression else 2
    task = (
      tasks.RegressionTask(data=data, batch_size=128)
      if regression
      else tasks.ClassificationTask(data=data, batch_size=128, num_classes=2)
    )
    x = task.init_inputs()
    for width in QUAD_WIDTHS:
      quad = QuadraticMLP(hidden=(width, width), out=out_dim)
      target = _num_params(quad, x)
      w_relu, p_relu = _matched_width(lambda w, o=out_dim: MLP(hidden=(w, w), out=o), target, x)
      models = [
        ('quadratic (fan, ReLU)', quad, target, width),
        ('conventional (ReLU)', MLP(hidden=(w_relu, w_relu), out=out_dim), p_relu, w_relu),
        ('conventional (x^2 activation)', MLP(hidden=(w_relu, w_relu), out=out_dim, act='square'), p_relu, w_relu),
      ]
      for label, model, n_params, w in models:
        tx = optim.create_optimizer(num_steps, name='adam', learning_rate=3e-3)
        out = train_seeds(model, task, tx, num_steps, seeds)
        metric = 'rmse' if regression else 'accuracy'
        vals = out[metric]
        rows.append(
          {
            'dataset': ds_name,
            'model': label,
            'width': w,
            'params': n_params,
            'metric': metric,
            'mean': float(np.nanmean(vals)),
            'std': float(np.nanstd(vals)),
            'finite_fraction': float(out['finite'].mean()),
            'seeds': len(seeds),
            'num_steps': num_steps,
          }
        )
        rows[-1]['command'] = expressivity_command(rows[-1])
        print(json.dumps({k: rows[-1][k] for k in ('dataset', 'model', 'params', 'mean', 'std')}))
  return rows


# --- Tables, plots, README -------------------------------------------------------------------------------
def _fmt(v, digits=3):
  return '-' if v is None else f'{v:.{digits}f}'


def tables(results: dict) -> str:
  lines = []
  if 'expressivity' in results:
    rows = results['expressivity']
    lines += [
      f'Expressivity ({rows[0]["seeds"]} seeds, Adam 3e-3, batch 128, '
      f'{rows[0].get("num_steps", EXPRESSIVITY_STEPS)} steps, 2000 train / 2000 test points; '
      'test metric mean ± std over seeds):',
      '',
      '| dataset | model | hidden widths | params | test metric | value | command |',
      '|---|---|---|---|---|---|---|',
    ]
    for r in rows:
      value = f'{r["mean"]:.3f} ± {r["std"]:.3f}'
      lines.append(
        f'| {r["dataset"]} | {r["model"]} | ({r["width"]}, {r["width"]}) | {r["params"]} | {r["metric"]} | {value} '
        f'| `{expressivity_command(r)}` |'
      )
    lines.append('')
  for part in ('trainability', 'shrinkage'):
    if part not in results:
      continue
    rows = results[part]
    lines += [
      (
        ''
        if part == 'trainability'
        else 'Shrinkage penalties (same setting; alpha = beta; aux loss added to the task loss). '
      )
      + f'Trainability on digits ({rows[0]["seeds"]} seeds, {rows[0]["num_steps"]} steps, batch 64; collapse = '
      f'non-finite parameters or test accuracy <= {0.1 + CHANCE_MARGIN:.2f}):',
      '',
      '| optimizer | variant | collapse rate | test accuracy (non-collapsed seeds) | command |',
      '|---|---|---|---|---|',
    ]
    for r in rows:
      acc = r['accuracy_mean_not_collapsed']
      acc_s = '-' if acc is None else f'{acc:.4f} ± {r["accuracy_std_not_collapsed"]:.4f}'
      lines.append(f'| {r["optimizer"]} | {r["variant"]} | {r["collapse_rate"]:.1f} | {acc_s} | `{r["command"]}` |')
    lines.append('')
  return '\n'.join(lines)


def plot(results: dict, path: str) -> None:
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  rows = results['trainability']
  opts = list(dict.fromkeys(r['optimizer'] for r in rows))
  fig, axes = plt.subplots(1, len(opts), figsize=(5.5 * len(opts), 3.8), squeeze=False)
  for ax, opt in zip(axes[0], opts):
    sub = [r for r in rows if r['optimizer'] == opt]
    for i, r in enumerate(sub):
      accs = [a if a is not None else 0.0 for a in r['per_seed_accuracy']]
      ax.scatter(np.full(len(accs), i) + np.linspace(-0.15, 0.15, len(accs)), accs, s=12)
      ax.text(i, 1.02, f'collapse {r["collapse_rate"]:.0%}', ha='center', fontsize=7)
    ax.set_xticks(range(len(sub)), [r['variant'] for r in sub], rotation=30, ha='right', fontsize=8)
    ax.set_ylim(0, 1.08)
    ax.set_ylabel('test accuracy (NaN runs at 0)')
    ax.set_title(f'digits, 4-layer MLP, {opt}')
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)


def update_readme(text: str) -> None:
  path = os.path.join(HERE, 'README.md')
  readme = open(path).read()
  new = re.sub(
    r'(<!-- results:start -->\n).*?(<!-- results:end -->)', lambda m: m.group(1) + text + m.group(2), readme, flags=re.S
  )
  with open(path, 'w') as f:
    f.write(new)


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--quick', action='store_true', help='tiny steps and 2 seeds (smoke run; README untouched)')
  parser.add_argument('--part', choices=['all', 'expressivity', 'trainability', 'shrinkage', 'none'], default='all')
  parser.add_argument('--seeds', type=int, default=10)
  parser.add_argument('--render_only', action='store_true', help='rebuild tables/plot/README from results.json')
  args = parser.parse_args()
  seeds = list(range(2 if args.quick else args.seeds))
  out_dir = os.path.join('/tmp', 'quadratic_networks_quick') if args.quick else RESULTS
  os.makedirs(out_dir, exist_ok=True)
  path = os.path.join(out_dir, 'results.json')
  new = {}
  if args.render_only:
    args.part = 'none'
  if args.part in ('all', 'expressivity'):
    new['expressivity'] = expressivity(20 if args.quick else EXPRESSIVITY_STEPS, seeds[:5])
  if args.part in ('all', 'trainability'):
    new['trainability'] = trainability(20 if args.quick else 1000, seeds)
  if args.part in ('all', 'shrinkage'):
    sgd = {'sgd_0.1': OPTIMIZERS['sgd_0.1']}
    new['shrinkage'] = trainability(20 if args.quick else 1000, seeds, sgd, SHRINK_VARIANTS)
  # Merge with the other part's results (read only now: the two parts may run as separate processes).
  results = {**(json.load(open(path)) if os.path.exists(path) else {}), **new}
  for row in results.get('expressivity', []):
    row['command'] = expressivity_command(row)
  with open(path, 'w') as f:
    json.dump(results, f, indent=1)
  text = tables(results)
  with open(os.path.join(out_dir, 'results.md'), 'w') as f:
    f.write(text)
  if 'trainability' in results:
    plot(results, os.path.join(out_dir, 'trainability.png'))
  if not args.quick:
    update_readme(text)
  print(text)


if __name__ == '__main__':
  main()
