"""SDR theory: the closed forms against Monte-Carlo, as tables and plots, and as a `launch report` analysis.

Each run of projects/sdr_theory/experiment.py writes results.json and, through `write_all`, tables.md and four plots
into its own directory. On a sweep root (configs/sdr_theory/sweeps/*.py):

  launch report ROOT --analysis=projects.sdr_theory.analysis:closed_forms [--out DIR]

`closed_forms(report, out_dir)` reads every finished run's results.json and returns the headline table (grid,
binomial-test agreement, largest z-score, decades lost over n, the union property, the paper's s -> M s bound), one
column per run; it writes tables.md and the plots of the first finished run (by path) into out_dir, and those of
every other run into out_dir/<run path>/.
"""

import json
import math
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


def _decades(fm: list[dict]) -> list[tuple[float, int, int]]:
  """(decades lost from the smallest to the largest n at theta = s/2, a, s) for every (a, s), sorted."""
  ns = sorted({r['n'] for r in fm})
  out = []
  for a, s in sorted({(r['a'], r['s']) for r in fm}):
    at = {r['n']: r['exact_log10'] for r in fm if (r['a'], r['s'], r['theta']) == (a, s, s // 2)}
    if ns[0] in at and ns[-1] in at and len(ns) > 1:
      out.append((at[ns[0]] - at[ns[-1]], a, s))
  return sorted(out)


def headline(results: dict) -> list[tuple[str, str]]:
  """The README's headline rows (check, result) computed from one run's results.json."""
  fm, summary = results['false_match'], results['summary']
  grid = ' x '.join(f'{k} in {{{", ".join(str(v) for v in sorted({r[k] for r in fm}))}}}' for k in ('n', 'a', 's'))
  rows = [('grid', f'{grid} (s <= a) x every theta in 1..s')]
  samples = [f'{fm[0]["samples"]:,} per (n, a, s) (sequential sampler)']
  if results['explicit_check']:
    samples.append(f'{results["explicit_check"][0]["samples"]:,} per explicit-SDR point')
  if results['union_mc']:
    samples.append(f'{results["union_mc"][0]["samples"]:,} per union point')
  rows.append(('Monte-Carlo samples', '; '.join(samples)))
  rows.append(
    (
      f'closed form vs Monte-Carlo, all {summary["points_checked"]} (point, theta) checks incl. union and false '
      'negatives',
      f'{100 * summary["fraction_pvalue_above_0.01"]:.1f} % have an exact binomial-test p-value > 0.01 (about 99 % '
      'expected if the formulas are right)',
    )
  )
  rows.append(
    (
      f'the {summary["resolvable_points"]} points with an expected hit count >= 20',
      f'max abs z-score {summary["max_abs_z_resolvable"]:.2f}',
    )
  )
  drops = _decades(fm)
  if drops:
    ns = sorted({r['n'] for r in fm})
    (lo, a0, s0), (hi, a1, s1) = drops[0], drops[-1]
    rows.append(
      (
        f'false matches vs n, theta = s/2, n = {ns[0]} -> {ns[-1]}',
        f'fall by {lo:.1f} (a={a0}, s={s0}) to {hi:.1f} (a={a1}, s={s1}) decades',
      )
    )
  mc = results['union_mc']
  if mc:
    r0 = mc[0]
    ms = ', '.join(str(r['union']) for r in mc)
    rows.append(
      (
        f'union, n = {r0["n"]}, a = {r0["a"]}, s = {r0["s"]}, theta = {r0["theta"]}',
        f'M = {ms}: exact {", ".join(_fmt2(r["exact"]) for r in mc)}; '
        f'Monte-Carlo {", ".join(_fmt2(r["mc"]) for r in mc)}',
      )
    )
    big = [r for r in mc if r['union'] >= 10]
    if big:
      rows.append(
        (
          "paper's s -> M*s substitution",
          'an upper bound: '
          + ', '.join(f'{_fmt2(r["paper_bound"])} vs exact {_fmt2(r["exact"])} at M = {r["union"]}' for r in big)
          + f' (n = {r0["n"]})',
        )
      )
  un = results['union']
  if un:
    n_max, m_max = max(r['n'] for r in un), max(r['union'] for r in un)
    top = next(r for r in un if (r['n'], r['union']) == (n_max, m_max))
    rows.append(
      (
        f'union at n = {n_max} (closed form)',
        f'{_fmt2(10 ** top["exact_log10"])} at M = {m_max} (log10 P = {top["exact_log10"]:.1f})',
      )
    )
  return rows


def _fmt2(p: float) -> str:
  return '0' if p == 0 else f'{p:.2g}'


def closed_forms(report, out_dir: str) -> str:
  """`launch report` analysis: the headline table per finished run (columns), tables.md and plots written."""
  runs = [r for r in report.runs if r.status == 'done' and os.path.isfile(os.path.join(r.workdir, 'results.json'))]
  if not runs:
    return 'No finished run with results.json under the root.\n'
  columns, written = [], []
  for i, run in enumerate(runs):
    with open(os.path.join(run.workdir, 'results.json')) as f:
      results = json.load(f)
    target = out_dir if i == 0 else os.path.join(out_dir, run.path.replace('/', '_'))
    write_all(results, target)
    written.append(os.path.relpath(os.path.join(target, 'tables.md'), out_dir))
    columns.append(dict(headline(results)))
  checks = list(dict.fromkeys(k for c in columns for k in c))
  lines = ['| check | ' + ' | '.join(r.path for r in runs) + ' |', '|---' * (1 + len(runs)) + '|']
  for check in checks:
    lines.append(f'| {check} | ' + ' | '.join(c.get(check, '-') for c in columns) + ' |')
  fractions = [r.final.get('fraction_pvalue_above_0.01', math.nan) for r in runs]
  lines += ['', f'Runs: {len(runs)}; binomial-test pass fraction per run: '
            + ', '.join(f'{100 * f:.1f} %' for f in fractions) + '.']  # fmt: skip
  lines += ['', 'Full tables: ' + ', '.join(written) + ' (with false_match_vs_n.png, closed_form_vs_mc.png, union.png, '
            'false_negative.png beside each).']  # fmt: skip
  return '\n'.join(lines) + '\n'
