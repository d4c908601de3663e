"""Tables (markdown) and plots for the SDR-theory results; also a CLI that re-renders them from results.json.

python -m projects.sdr_theory.report <workdir> [--out projects/sdr_theory/results]
"""

import argparse
import json
import os

import numpy as np


def _fmt(p: float) -> str:
  return '0' if p == 0 else f'{p:.3g}'


def tables(results: dict) -> str:
  s = results['summary']
  fm = results['false_match']
  lines = ['## Summary', '', '| metric | value |', '|---|---|']
  lines += [f'| {k} | {v:.4g} |' if isinstance(v, float) else f'| {k} | {v} |' for k, v in s.items()]
  lines += ['', '## False match vs n (closed form, log10 P; theta = s/2)', '']
  ns = sorted({r['n'] for r in fm})
  lines += ['| a | s | theta | ' + ' | '.join(f'n={n}' for n in ns) + ' |', '|---' * (3 + len(ns)) + '|']
  for a, sv in sorted({(r['a'], r['s']) for r in fm}):
    vals = {r['n']: r['exact_log10'] for r in fm if (r['a'], r['s'], r['theta']) == (a, sv, sv // 2)}
    lines.append(f'| {a} | {sv} | {sv // 2} | ' + ' | '.join(f'{vals[n]:.1f}' for n in ns) + ' |')
  lines += [
    '',
    '## Closed form vs Monte-Carlo (points with expected count >= 20; sequential sampler)',
    '',
    '| n | a | s | theta | closed form | Monte-Carlo | samples | binomial p-value |',
    '|---|---|---|---|---|---|---|---|',
  ]
  for r in [r for r in fm if r['exact'] * r['samples'] >= 20 and r['exact'] < 0.5][:40]:
    lines.append(
      f'| {r["n"]} | {r["a"]} | {r["s"]} | {r["theta"]} | {_fmt(r["exact"])} | {_fmt(r["mc"])} | '
      f'{r["samples"]} | {r["pvalue"]:.2f} |'
    )
  lines += [
    '',
    '## Explicit-SDR sampler cross-check',
    '',
    '| n | a | s | theta | closed form | Monte-Carlo | samples | p-value |',
    '|---|---|---|---|---|---|---|---|',
  ]
  for r in results['explicit_check']:
    if r['exact'] * r['samples'] >= 5 and r['exact'] < 0.99:
      lines.append(
        f'| {r["n"]} | {r["a"]} | {r["s"]} | {r["theta"]} | {_fmt(r["exact"])} | {_fmt(r["mc"])} | '
        f'{r["samples"]} | {r["pvalue"]:.2f} |'
      )
  lines += [
    '',
    '## Union of M patterns on one segment (false match)',
    '',
    '| n | M | exact | paper bound (s -> M s) | Monte-Carlo | samples | p-value |',
    '|---|---|---|---|---|---|---|',
  ]
  for r in results['union_mc']:
    lines.append(
      f'| {r["n"]} | {r["union"]} | {_fmt(r["exact"])} | {_fmt(r["paper_bound"])} | {_fmt(r["mc"])} | '
      f'{r["samples"]} | {r["pvalue"]:.2f} |'
    )
  un = results['union']
  if un:
    ms = sorted({r['union'] for r in un})
    show = [m for m in ms if m in (1, 2, 5, 10, 15, 20)] or ms
    lines += [
      '',
      f'Closed form, log10 P (a={un[0]["a"]}, s={un[0]["s"]}, theta={un[0]["theta"]}):',
      '',
      '| n | ' + ' | '.join(f'M={m}' for m in show) + ' |',
      '|---' * (1 + len(show)) + '|',
    ]
    for n in sorted({r['n'] for r in un}):
      vals = {r['union']: r['exact_log10'] for r in un if r['n'] == n}
      lines.append(f'| {n} | ' + ' | '.join(f'{vals[m]:.1f}' for m in show) + ' |')
  lines += [
    '',
    '## False negatives under noise (v of a active cells moved)',
    '',
    '| a | s | theta | v | closed form | Monte-Carlo | samples | p-value |',
    '|---|---|---|---|---|---|---|---|',
  ]
  for r in results['false_negative']:
    lines.append(
      f'| {r["a"]} | {r["s"]} | {r["theta"]} | {r["v"]} | {_fmt(r["exact"])} | {_fmt(r["mc"])} | '
      f'{r["samples"]} | {r["pvalue"]:.2f} |'
    )
  return '\n'.join(lines) + '\n'


def plots(results: dict, out: str) -> list[str]:
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  paths = []
  fm = results['false_match']
  fig, ax = plt.subplots(figsize=(5, 3.6))
  for a, s in sorted({(r['a'], r['s']) for r in fm}):
    pts = sorted((r['n'], r['exact_log10']) for r in fm if (r['a'], r['s'], r['theta']) == (a, s, s // 2))
    ax.plot(*zip(*pts), marker='o', label=f'a={a}, s={s}, θ={s // 2}')
  ax.set(xscale='log', xlabel='n (cells)', ylabel='log10 P(false match)', title='False matches fall with n')
  ax.legend(fontsize=6)
  fig.tight_layout()
  paths.append(os.path.join(out, 'false_match_vs_n.png'))
  fig.savefig(paths[-1], dpi=120)

  fig, ax = plt.subplots(figsize=(4, 4))
  pts = [(r['exact'], r['mc']) for r in fm + results['explicit_check'] if r['mc'] > 0 and r['exact'] > 0]
  if pts:
    x, y = np.array(pts).T
    ax.loglog(x, y, '.', ms=3)
    lim = [min(x.min(), y.min()), 1]
    ax.plot(lim, lim, 'k--', lw=0.8)
  ax.set(xlabel='closed form', ylabel='Monte-Carlo', title='Closed form vs Monte-Carlo')
  fig.tight_layout()
  paths.append(os.path.join(out, 'closed_form_vs_mc.png'))
  fig.savefig(paths[-1], dpi=120)

  fig, ax = plt.subplots(figsize=(5, 3.6))
  un = results['union']
  for n in sorted({r['n'] for r in un}):
    pts = sorted((r['union'], r['exact_log10'], r['paper_bound_log10']) for r in un if r['n'] == n)
    m, e, b = zip(*pts)
    line = ax.plot(m, e, marker='o', ms=3, label=f'n={n}')[0]
    ax.plot(m, b, ls=':', color=line.get_color())
  for r in results['union_mc']:
    if r['mc'] > 0:
      ax.plot(r['union'], np.log10(r['mc']), 'kx')
  ax.set(xlabel='patterns M on one segment', ylabel='log10 P(false match)', title='Union property (x: Monte-Carlo)')
  ax.legend(fontsize=6)
  fig.tight_layout()
  paths.append(os.path.join(out, 'union.png'))
  fig.savefig(paths[-1], dpi=120)

  fig, ax = plt.subplots(figsize=(5, 3.6))
  fn = results['false_negative']
  for theta in sorted({r['theta'] for r in fn}):
    rows = sorted((r['v'], r['exact'], r['mc']) for r in fn if r['theta'] == theta)
    v, e, m = zip(*rows)
    line = ax.plot(v, e, label=f'θ={theta} closed form')[0]
    ax.plot(v, m, 'x', color=line.get_color())
  ax.set(xlabel='noise: active cells moved (v)', ylabel='P(false negative)', title='Robustness to noise')
  ax.legend(fontsize=6)
  fig.tight_layout()
  paths.append(os.path.join(out, 'false_negative.png'))
  fig.savefig(paths[-1], dpi=120)
  plt.close('all')
  return paths


def write_all(results: dict, out: str) -> None:
  os.makedirs(out, exist_ok=True)
  with open(os.path.join(out, 'tables.md'), 'w') as f:
    f.write(tables(results))
  plots(results, out)


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument('workdir')
  parser.add_argument('--out', default=None, help='where to write tables.md and the plots (default: workdir)')
  args = parser.parse_args()
  with open(os.path.join(args.workdir, 'results.json')) as f:
    results = json.load(f)
  write_all(results, args.out or args.workdir)
  print(tables(results))


if __name__ == '__main__':
  main()
