"""Regenerates the adaptive-reservoir results: JSON, README table, plot.

  .venv/bin/python -m projects.adaptive_reservoir.run_results            # 5 seeds, N=300
  .venv/bin/python -m projects.adaptive_reservoir.run_results --quick    # smoke run (/tmp only)

Per task and seed the same reservoir weights are scored (projects/adaptive_reservoir/tasks.py) under
  global E/I sweep: inhibition_scale in GLOBAL_SCALES, no adaptation;
  local adaptation: inhibition_scale 1 and gains adapted toward homogeneous targets (TARGET_RATES);
  heterogeneous: log-normal targets with those medians (spread TARGET_SPREAD).
Each (task, group) is one program vmapped over (setting x seed). A single point is
  launch --gin_file=configs/adaptive_reservoir/<task>.gin --gin.ADAPTATION="'<none|homogeneous|heterogeneous>'" ...
"""

import argparse
import json
import os
import re
import time

import jax
import jax.numpy as jnp
import numpy as np

from common.homeostatic import reservoir, target_rate
from projects.adaptive_reservoir import tasks

HERE = os.path.dirname(os.path.abspath(__file__))
GLOBAL_SCALES = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0)
TARGET_RATES = (0.1, 0.2, 0.3, 0.4)
TARGET_SPREAD = 0.5
ADAPT_RATE = 0.05
CFG = reservoir.ReservoirConfig()


def sweep(seeds, quick=False):
  out = {}
  for name in tasks.TASKS:
    kw = dict(adapt_steps=200, max_delay=20) if quick else {}
    task_list = [tasks.make_task(name, s, **kw) for s in seeds]
    task = {k: jnp.asarray(np.stack([t[k] for t in task_list])) for k in task_list[0]}
    weights = [reservoir.init_reservoir(CFG, 1, s) for s in seeds]
    weights = jax.tree_util.tree_map(lambda *a: jnp.stack(a), *weights)
    n = CFG.size

    def one(w, t, scale, targets, adapt, name=name):
      return tasks.evaluate(name, w, t, CFG, inhibition_scale=scale, targets=targets, adapt_rate=adapt)

    per_seed = jax.vmap(one, in_axes=(0, 0, None, None, None))  # over seeds
    per_setting = jax.jit(jax.vmap(per_seed, in_axes=(None, None, 0, 0, 0)))  # over settings
    res = {}
    groups = {
      'global': (jnp.asarray(GLOBAL_SCALES), jnp.zeros((len(GLOBAL_SCALES), n)), jnp.zeros(len(GLOBAL_SCALES))),
      'homogeneous': (
        jnp.ones(len(TARGET_RATES)),
        jnp.stack([target_rate.make_targets(n, r) for r in TARGET_RATES]),
        jnp.full(len(TARGET_RATES), ADAPT_RATE),
      ),
      'heterogeneous': (
        jnp.ones(len(TARGET_RATES)),
        jnp.stack([target_rate.make_targets(n, r, 'heterogeneous', TARGET_SPREAD) for r in TARGET_RATES]),
        jnp.full(len(TARGET_RATES), ADAPT_RATE),
      ),
    }
    for group, (scales, targets, adapt) in groups.items():
      start = time.time()
      score, rate, gmean, gstd = per_setting(weights, task, scales, targets, adapt)  # each (settings, seeds)
      res[group] = {
        'score': np.asarray(score).tolist(),
        'rate': np.asarray(rate).tolist(),
        'gain_mean': np.asarray(gmean).tolist(),
        'gain_std': np.asarray(gstd).tolist(),
      }
      print(f'{name} {group}: {np.round(np.asarray(score).mean(1), 3)} ({time.time() - start:.0f}s)', flush=True)
    out[name] = res
  return out


def summarise(out, seeds):
  rows = []
  for name, res in out.items():
    higher = tasks.HIGHER_IS_BETTER[name]
    best = (lambda a: int(np.argmax(a))) if higher else (lambda a: int(np.argmin(a)))
    g = np.asarray(res['global']['score']).mean(1)
    row = {'task': name, 'metric': 'MC' if higher else 'NRMSE', 'seeds': len(seeds)}
    gi = best(g)
    row['global_best'], row['global_best_scale'] = float(g[gi]), GLOBAL_SCALES[gi]
    row['global_worst'] = float(g.min() if higher else g.max())
    row['global_all'] = {str(s): float(v) for s, v in zip(GLOBAL_SCALES, g)}
    row['global_rates'] = {str(s): float(v) for s, v in zip(GLOBAL_SCALES, np.asarray(res['global']['rate']).mean(1))}
    for group in ('homogeneous', 'heterogeneous'):
      v = np.asarray(res[group]['score']).mean(1)
      i = best(v)
      row[f'{group}_best'], row[f'{group}_best_target'] = float(v[i]), TARGET_RATES[i]
      row[f'{group}_all'] = {str(r): float(x) for r, x in zip(TARGET_RATES, v)}
      # Improvement over the best global setting, and the largest over any global setting ("up to").
      if higher:
        row[f'{group}_vs_global_best'] = float(v[i] / g[gi] - 1.0)
        row[f'{group}_vs_global_max'] = float(v[i] / g.min() - 1.0)
      else:  # relative error reduction
        row[f'{group}_vs_global_best'] = float(1.0 - v[i] / g[gi])
        row[f'{group}_vs_global_max'] = float(1.0 - v[i] / g.max())
      # Spread of scores across the hyperparameter grid: how much tuning the method needs.
      row[f'{group}_range'] = float(v.max() - v.min())
    row['global_range'] = float(g.max() - g.min())
    rows.append(row)
  return rows


def table(rows, quick=False):
  s = rows[0]['seeds']
  lines = [
    f'N={CFG.size} E/I reservoir (80% excitatory, connectivity {CFG.connectivity}, spectral radius '
    f'{CFG.spectral_radius}), {s} seeds (same weights across methods per seed), means over seeds. MC: higher is '
    'better; NRMSE: lower is better. Global: inhibition_scale swept over '
    f'{GLOBAL_SCALES} (1 = balanced), best shown. Local: inhibition_scale 1, gains adapted (rate '
    f'{ADAPT_RATE}) toward target rates {TARGET_RATES}, best shown; heterogeneous targets are log-normal '
    f'(spread {TARGET_SPREAD}). "vs best global" = relative gain (MC) or relative error reduction (NRMSE) '
    'against the best global setting; "vs worst global" = against the worst global setting.',
    '',
    '| task | metric | global best (scale) | local homogeneous best (target) | vs best global | vs worst global | '
    'heterogeneous best (target) | vs best global | vs worst global | score range over grid: global / hom / het |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ]
  for r in rows:
    lines.append(
      f'| {r["task"]} | {r["metric"]} | {r["global_best"]:.3f} ({r["global_best_scale"]}) | '
      f'{r["homogeneous_best"]:.3f} ({r["homogeneous_best_target"]}) | {r["homogeneous_vs_global_best"]:+.0%} | '
      f'{r["homogeneous_vs_global_max"]:+.0%} | {r["heterogeneous_best"]:.3f} ({r["heterogeneous_best_target"]}) | '
      f'{r["heterogeneous_vs_global_best"]:+.0%} | {r["heterogeneous_vs_global_max"]:+.0%} | '
      f'{r["global_range"]:.3f} / {r["homogeneous_range"]:.3f} / {r["heterogeneous_range"]:.3f} |'
    )
  lines += ['', 'Per-setting means (global: inhibition_scale -> score [mean rate]; local: target -> score):', '']
  for r in rows:
    glob = ', '.join(f'{k}: {v:.3f} [{r["global_rates"][k]:.2f}]' for k, v in r['global_all'].items())
    hom = ', '.join(f'{k}: {v:.3f}' for k, v in r['homogeneous_all'].items())
    het = ', '.join(f'{k}: {v:.3f}' for k, v in r['heterogeneous_all'].items())
    lines.append(f'- {r["task"]}: global {{{glob}}}; homogeneous {{{hom}}}; heterogeneous {{{het}}}')
  return '\n'.join(lines) + '\n'


def plot(out, path):
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  fig, axes = plt.subplots(1, len(out), figsize=(5 * len(out), 3.6))
  for ax, (name, res) in zip(axes, out.items()):
    g = np.asarray(res['global']['score'])
    rates = np.asarray(res['global']['rate']).mean(1)
    ax.errorbar(rates, g.mean(1), yerr=g.std(1), marker='o', label='global E/I sweep (x = mean rate)')
    for group, marker in (('homogeneous', 's'), ('heterogeneous', '^')):
      v = np.asarray(res[group]['score'])
      ax.errorbar(
        np.asarray(res[group]['rate']).mean(1), v.mean(1), yerr=v.std(1), marker=marker, label=f'local, {group}'
      )
    ax.set_xlabel('mean firing rate')
    ax.set_ylabel('MC' if tasks.HIGHER_IS_BETTER[name] else 'NRMSE')
    ax.set_title(name)
    ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--quick', action='store_true')
  parser.add_argument('--seeds', type=int, default=5)
  args = parser.parse_args()
  seeds = list(range(2 if args.quick else args.seeds))
  out_dir = '/tmp/adaptive_reservoir_quick' if args.quick else os.path.join(HERE, 'results')
  os.makedirs(out_dir, exist_ok=True)
  out = sweep(seeds, quick=args.quick)
  rows = summarise(out, seeds)
  with open(os.path.join(out_dir, 'results.json'), 'w') as f:
    json.dump({'rows': rows, 'raw': out}, f, indent=1)
  text = table(rows)
  with open(os.path.join(out_dir, 'results.md'), 'w') as f:
    f.write(text)
  plot(out, os.path.join(out_dir, 'adaptive_reservoir.png'))
  if not args.quick:
    path = os.path.join(HERE, 'README.md')
    readme = re.sub(
      r'(<!-- results:start -->\n).*?(<!-- results:end -->)',
      lambda m: m.group(1) + text + m.group(2),
      open(path).read(),
      flags=re.S,
    )
    with open(path, 'w') as f:
      f.write(readme)
  print(text)


if __name__ == '__main__':
  main()
