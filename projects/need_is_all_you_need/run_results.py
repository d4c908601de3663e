"""Regenerates the concept-shift results of projects/need_is_all_you_need: JSON, README table, plot.

  .venv/bin/python -m projects.need_is_all_you_need.run_results                 # 10 seeds, 20 epochs
  .venv/bin/python -m projects.need_is_all_you_need.run_results --quick         # smoke run (/tmp only)
  .venv/bin/python -m projects.need_is_all_you_need.run_results --only=constant_2x  # one mode, merged with the rest

Every (regulation mode) is one compiled program: common.homeostatic.online.make_epoch_fn (the epoch that the gin
entry point `online.train` runs) vmapped over (shift condition x seed). A single run of one lane is
  launch --gin_file=configs/need_is_all_you_need/concept_shift.gin --gin.MODE="'<mode>'" --gin.SWAPS=<s> --gin.SEED=<k>
"""

import argparse
import json
import os
import re
import time

import jax
import jax.numpy as jnp
import numpy as np

from common.data import pipeline
from common.homeostatic import online
from common.homeostatic.need import NeedRegulation
from common.homeostatic.network import EluMLP

HERE = os.path.dirname(os.path.abspath(__file__))
MODES = ('homeostatic', 'random', 'constant', 'constant_2x', 'homeostatic_2x')
BASELINES = ('random', 'constant', 'constant_2x')
# label -> (NeedRegulation.mode, eta0 as a multiple of LR_INIT). constant_2x: a constant rate near the mean eta
# that random regulation drifts to (it is a random walk floored at 1e-8, so its mean rises): a control for
# "higher learning rate" rather than "regulation".
MODE_SETTINGS = {
  'homeostatic': ('homeostatic', 1.0),
  'random': ('random', 1.0),
  'constant': ('constant', 1.0),
  'constant_2x': ('constant', 2.0),
  'homeostatic_2x': ('homeostatic', 2.0),
}
SWAP_RATES = (0, 1, 2, 5, 10, 20)
SEASONAL = dict(swaps_per_epoch=10.0, seasonal_amplitude=10.0, seasonal_period=10.0)
LR_INIT = 1e-2
BATCH = 10


def conditions(num_epochs):
  """(name, swaps per epoch for each epoch) for every shift condition."""
  out = [(f'{s} swaps/epoch', np.full(num_epochs, s, np.int32)) for s in SWAP_RATES]
  seasonal = [int(online.swaps_in_epoch(e, **SEASONAL)) for e in range(num_epochs)]
  out.append(('seasonal 10±10 (period 10)', np.asarray(seasonal, np.int32)))
  return out


def sweep(num_epochs: int, num_seeds: int, labels=MODES) -> dict:
  data = pipeline.load_tfds('sklearn_digits', scale=1 / 16)
  model = EluMLP()
  conds = conditions(num_epochs)
  schedule = jnp.asarray(np.stack([c[1] for c in conds]))  # (C, E)
  n_cond = len(conds)
  seeds = jnp.tile(jnp.arange(num_seeds), n_cond)  # lane = condition * num_seeds + seed
  lane_schedule = jnp.repeat(schedule, num_seeds, axis=0)  # (C*S, E)
  keys = jax.vmap(jax.random.PRNGKey)(seeds)
  example = jnp.asarray(data.train['inputs'][:2])
  per_epoch = data.num_train // BATCH
  results = {}
  for mode in labels:
    kind, factor = MODE_SETTINGS[mode]
    reg = NeedRegulation(mode=kind, lr_init=LR_INIT * factor, lr_step=LR_INIT * factor / 10)
    epoch_fn = jax.jit(jax.vmap(online.make_epoch_fn(model, reg, data, BATCH, per_epoch), in_axes=(0, 0, None, 0)))
    state = jax.vmap(lambda k, r=reg: online.init_state(model, r, example, k))(keys)
    start, hist = time.time(), []
    for e in range(num_epochs):
      state, metrics = epoch_fn(state, keys, e, lane_schedule[:, e])
      hist.append({k: np.asarray(v).reshape(n_cond, num_seeds) for k, v in metrics.items()})
    results[mode] = {k: np.stack([h[k] for h in hist], -1) for k in hist[0]}  # (C, S, E)
    print(f'{mode}: {time.time() - start:.0f}s', flush=True)
  return {'conditions': [c[0] for c in conds], 'schedule': schedule, 'results': results}


def summarise(out: dict, num_epochs: int, num_seeds: int) -> list[dict]:
  rows = []
  for ci, cname in enumerate(out['conditions']):
    row = {'condition': cname, 'epochs': num_epochs, 'seeds': num_seeds}
    for mode in MODES:
      r = out['results'][mode]
      for metric in ('accuracy', 'online_accuracy'):
        per_seed = r[metric][ci].mean(-1)  # mean over epochs: accuracy while the concepts keep shifting
        row[f'{mode}_{metric}'] = float(per_seed.mean())
        row[f'{mode}_{metric}_std'] = float(per_seed.std())
      row[f'{mode}_final_accuracy'] = float(r['accuracy'][ci, :, -1].mean())
      row[f'{mode}_lr_mean'] = float(r['lr_mean'][ci].mean())
    for base in BASELINES:
      diff = out['results']['homeostatic']['online_accuracy'][ci].mean(-1) - out['results'][base]['online_accuracy'][
        ci
      ].mean(-1)  # paired by seed (same init, order and swaps)
      row[f'gap_vs_{base}'] = float(diff.mean())
      row[f'gap_vs_{base}_sem'] = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else 0.0
    # Regulation at the matched (doubled) starting rate: homeostatic_2x - constant_2x, paired by seed.
    diff = out['results']['homeostatic_2x']['online_accuracy'][ci].mean(-1) - out['results']['constant_2x'][
      'online_accuracy'
    ][ci].mean(-1)
    row['gap_h2x_vs_c2x'] = float(diff.mean())
    row['gap_h2x_vs_c2x_sem'] = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else 0.0
    rows.append(row)
  return rows


def command(cname: str, num_epochs: int) -> str:
  steps = num_epochs * 143
  if cname.startswith('seasonal'):
    knobs = '--gin.SWAPS=10 --gin.SEASONAL_AMPLITUDE=10'
  else:
    knobs = f'--gin.SWAPS={cname.split()[0]}'
  return (
    f'launch --gin_file=configs/need_is_all_you_need/concept_shift.gin --gin.MODE="\'<mode>\'" {knobs} '
    f'--gin.NUM_STEPS={steps} --gin.SEED=<seed> --workdir=<dir>'
  )


def table(rows: list[dict]) -> str:
  r0 = rows[0]
  lines = [
    f'Digits, EluMLP 64-80-60-10, online SGD batch {BATCH}, eta0 = {LR_INIT}, {r0["epochs"]} epochs, '
    f'{r0["seeds"]} seeds. "online" = accuracy of the guesses made before each update (the stream the learner '
    'perceives), "test" = accuracy on the test split under the labels valid at the end of each epoch; both are '
    'means over all epochs (± std over seeds). Gap = homeostatic - baseline online accuracy, paired by seed '
    '(± standard error).',
    '',
    '| shift | '
    + ' | '.join(f'{m} online' for m in MODES)
    + ' | '
    + ' | '.join(f'gap vs {b}' for b in BASELINES)
    + ' | gap homeostatic_2x vs constant_2x | '
    + ' | '.join(f'{m} test' for m in MODES)
    + ' | mean eta ('
    + ' / '.join(MODES)
    + ') | command |',
    '|' + '---|' * (3 + 2 * len(MODES) + len(BASELINES) + 1),
  ]
  for r in rows:
    cells = [r['condition']]
    cells += [f'{r[f"{m}_online_accuracy"]:.4f} ± {r[f"{m}_online_accuracy_std"]:.4f}' for m in MODES]
    cells += [f'{r[f"gap_vs_{b}"]:+.4f} ± {r[f"gap_vs_{b}_sem"]:.4f}' for b in BASELINES]
    cells.append(f'{r["gap_h2x_vs_c2x"]:+.4f} ± {r["gap_h2x_vs_c2x_sem"]:.4f}')
    cells += [f'{r[f"{m}_accuracy"]:.4f}' for m in MODES]
    cells.append(' / '.join(f'{r[f"{m}_lr_mean"]:.4f}' for m in MODES))
    cells.append(f'`{command(r["condition"], r["epochs"])}`')
    lines.append('| ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines) + '\n'


def plot(out: dict, rows: list[dict], path: str) -> None:
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
  x = np.arange(len(SWAP_RATES))
  for mode in MODES:
    axes[0].errorbar(
        x, [r[f'{mode}_online_accuracy'] for r in rows[: len(SWAP_RATES)]],
        yerr=[r[f'{mode}_online_accuracy_std'] for r in rows[: len(SWAP_RATES)]], label=mode, capsize=3,
    )  # fmt: skip
  axes[0].set_xticks(x, [str(s) for s in SWAP_RATES])
  axes[0].set_xlabel('label swaps per epoch')
  axes[0].set_ylabel('online accuracy (mean over epochs)')
  axes[0].legend()
  for base in BASELINES:
    axes[1].errorbar(
        x, [r[f'gap_vs_{base}'] for r in rows[: len(SWAP_RATES)]],
        yerr=[r[f'gap_vs_{base}_sem'] for r in rows[: len(SWAP_RATES)]], label=f'homeostatic - {base}', capsize=3,
    )  # fmt: skip
  axes[1].axhline(0, color='k', lw=0.5)
  axes[1].set_xticks(x, [str(s) for s in SWAP_RATES])
  axes[1].set_xlabel('label swaps per epoch')
  axes[1].set_ylabel('online accuracy gap')
  axes[1].legend()
  ci = len(out['conditions']) - 1
  for mode in MODES:
    axes[2].plot(out['results'][mode]['online_accuracy'][ci].mean(0), label=mode)
  ax2 = axes[2].twinx()
  ax2.bar(np.arange(out['schedule'].shape[1]), np.asarray(out['schedule'][ci]), alpha=0.15, color='gray')
  ax2.set_ylabel('swaps in epoch')
  axes[2].set_xlabel('epoch')
  axes[2].set_ylabel('online accuracy')
  axes[2].set_title('seasonal shift')
  axes[2].legend()
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--quick', action='store_true')
  parser.add_argument('--epochs', type=int, default=20)
  parser.add_argument('--seeds', type=int, default=10)
  parser.add_argument('--only', default='', help='comma-separated modes to recompute; the rest are read from results')
  args = parser.parse_args()
  epochs, seeds = (2, 2) if args.quick else (args.epochs, args.seeds)
  out_dir = '/tmp/need_is_all_you_need_quick' if args.quick else os.path.join(HERE, 'results')
  os.makedirs(out_dir, exist_ok=True)
  labels = tuple(args.only.split(',')) if args.only else MODES
  out = sweep(epochs, seeds, labels)
  saved = os.path.join(out_dir, 'results.json')
  if set(labels) != set(MODES):  # the other modes come from the last full run
    previous = json.load(open(saved))['per_epoch']
    for m in MODES:
      if m not in labels:
        out['results'][m] = {k: np.asarray(v) for k, v in previous[m].items()}
  rows = summarise(out, epochs, seeds)
  with open(saved, 'w') as f:
    json.dump(
      {'rows': rows, 'per_epoch': {m: {k: v.tolist() for k, v in r.items()} for m, r in out['results'].items()}}, f
    )
  text = table(rows)
  with open(os.path.join(out_dir, 'results.md'), 'w') as f:
    f.write(text)
  plot(out, rows, os.path.join(out_dir, 'concept_shift.png'))
  if not args.quick:
    path = os.path.join(HERE, 'README.md')
    readme = open(path).read()
    readme = re.sub(r'(<!-- results:start -->\n).*?(<!-- results:end -->)', lambda m: m.group(1) + text + m.group(2),
                    readme, flags=re.S)  # fmt: skip
    with open(path, 'w') as f:
      f.write(readme)
  print(text)


if __name__ == '__main__':
  main()
