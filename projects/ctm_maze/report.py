"""Tabulates finished maze runs (mean ± std over seeds) and plots solved rate against maze size and route length.

  .venv/bin/python -m projects.ctm_maze.report ROOT [--out DIR]

ROOT holds one workdir per run named <model>_s<seed> (e.g. ctm_s0, lstm_s2); runs without final_metrics.json are
skipped. Writes DIR/results.md (the table) and DIR/generalisation.png, and prints the table. Only tabulates: every
number comes from the runs' final_metrics.json and generalisation.json (projects/ctm_maze/experiment.py).
"""

import argparse
import collections
import json
import os
import re

import numpy as np

COLUMNS = (
  ('step_accuracy', 'step acc. (first L moves)'),
  ('route_accuracy', 'whole route (first L moves)'),
  ('solved_first', 'solved, 1 application'),
  ('solved', 'solved, re-applied'),
  ('mean_applications', 'applications (solved)'),
  ('mean_route_length', 'route length'),
)


def load(root: str) -> dict[str, list[dict]]:
  """{model: [{'final': final_metrics, 'gen': generalisation or None}, ...] in seed order}."""
  runs = collections.defaultdict(list)
  for name in sorted(os.listdir(root)):
    match = re.fullmatch(r'(.+)_s(\d+)', name)
    path = os.path.join(root, name, 'final_metrics.json')
    if not match or not os.path.exists(path):
      continue
    with open(path) as f:
      final = json.load(f)
    gen_path = os.path.join(root, name, 'generalisation.json')
    gen = None
    if os.path.exists(gen_path):
      with open(gen_path) as f:
        gen = json.load(f)
    runs[match.group(1)].append({'seed': int(match.group(2)), 'final': final, 'gen': gen})
  return dict(runs)


def sizes_of(final: dict) -> list[int]:
  return sorted({int(m.group(1)) for k in final if (m := re.fullmatch(r'size(\d+)_solved', k))})


def fmt(values) -> str:
  values = np.asarray([v for v in values if v is not None and np.isfinite(v)], np.float64)
  if len(values) == 0:
    return '-'
  if len(values) == 1:
    return f'{values[0]:.3f}'
  return f'{values.mean():.3f} ± {values.std(ddof=1):.3f}'


def table(runs: dict[str, list[dict]]) -> str:
  lines = [
    '| model | params | seeds | maze | ' + ' | '.join(label for _, label in COLUMNS) + ' |',
    '|---|---|---|---|' + '---|' * len(COLUMNS),
  ]
  for model, rs in runs.items():
    params = rs[0]['final'].get('num_params')
    for size in sizes_of(rs[0]['final']):
      cells = [fmt([r['final'].get(f'size{size}_{key}') for r in rs]) for key, _ in COLUMNS]
      lines.append(f'| {model} | {params:,} | {len(rs)} | {size}x{size} | ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines)


def plot(runs: dict[str, list[dict]], path: str) -> None:
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
  for model, rs in runs.items():
    sizes = sizes_of(rs[0]['final'])
    for key, style in (('solved', '-o'), ('route_accuracy', '--s')):
      values = np.array([[r['final'][f'size{s}_{key}'] for s in sizes] for r in rs])
      label = f'{model}: ' + ('solved (re-applied)' if key == 'solved' else 'whole route, 1 application')
      ax1.errorbar(sizes, values.mean(0), yerr=values.std(0), fmt=style, capsize=3, label=label)
    gens = [r['gen'] for r in rs if r['gen']]
    if gens:
      lengths = np.concatenate([g['sizes'][s]['route_length'] for g in gens for s in g['sizes']])
      solved = np.concatenate([g['sizes'][s]['solved'] for g in gens for s in g['sizes']]).astype(float)
      edges = np.unique(np.quantile(lengths, np.linspace(0, 1, 11)))
      which = np.clip(np.digitize(lengths, edges[1:-1]), 0, len(edges) - 2)
      centres = [lengths[which == i].mean() for i in range(len(edges) - 1) if (which == i).any()]
      rates = [solved[which == i].mean() for i in range(len(edges) - 1) if (which == i).any()]
      ax2.plot(centres, rates, '-o', label=model)
  route_length = next((r['gen']['route_length'] for rs in runs.values() for r in rs if r['gen']), None)
  ax1.set(xlabel='maze size (pixels per side)', ylabel='fraction of test mazes', title='by maze size (mean ± std)')
  ax1.legend(fontsize=7)
  if route_length:
    ax2.axvline(route_length, color='grey', ls=':', label=f'route head L={route_length}')
  ax2.set(xlabel='route length (moves)', ylabel='solved (re-applied)', title='by route length (all sizes, seeds)')
  ax2.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('root')
  parser.add_argument('--out', default=None, help='folder for results.md and generalisation.png (default: ROOT)')
  args = parser.parse_args(argv)
  runs = load(args.root)
  if not runs:
    raise SystemExit(f'no finished <model>_s<seed> runs under {args.root}: run the experiments first (README.md)')
  out = args.out or args.root
  os.makedirs(out, exist_ok=True)
  text = table(runs)
  with open(os.path.join(out, 'results.md'), 'w') as f:
    f.write(text + '\n')
  plot(runs, os.path.join(out, 'generalisation.png'))
  print(text)


if __name__ == '__main__':
  main()
