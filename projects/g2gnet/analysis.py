"""The G2GNet results table, claim checks and plot, as an analysis that `launch report` calls on the sweep root:

  launch report /tmp/g2g --group_by=loop.train.model,TOPOLOGY,SPARSITY,REGROW,loop.train.after_step \
    --metrics=accuracy --analysis=projects.g2gnet.analysis:g2g --out=projects/g2gnet/results

Every run is one (model, variant, sparsity, seed) of the configs/g2gnet sweeps. A run's variant is read from its
config: TOPOLOGY 'dense' / 'random' / 'g2g', and for G2G whether `loop.train.after_step` is the DST hook and which
REGROW rule it uses. Gaps are paired by seed (the same seed gives the same batch order and initial-weight key),
± the standard error of the paired differences; a claim "at or above" holds when the mean gap is >= 0, and a
negative gap is called "below, within noise" when it is within 2 standard errors of 0.
Writes g2gnet.png: test accuracy against sparsity per model, one line per variant, dense as a band.
"""

import os

from launch import claims
from launch import report as report_lib
from launch.report import config_value

VARIANTS = ('dense', 'random-sparse', 'G2G', 'G2G+DST (random)', 'G2G+DST (Hebbian)')
MODELS = {'SparseMLP': 'MLP 64-256-256-10', 'SparseCNN': 'CNN conv32-conv64-256-10'}
METRIC = 'accuracy'


def model_of(run) -> str:
  ref = config_value(run, 'common.train.loop.train.model') or {}
  name = str(ref.get('@', '?')).rpartition('.')[2] if isinstance(ref, dict) else str(ref)
  return MODELS.get(name, name)


def variant_of(run) -> str:
  topology = config_value(run, 'TOPOLOGY', 'dense')
  if topology == 'dense':
    return 'dense'
  if topology == 'random':
    return 'random-sparse'
  hook = config_value(run, 'common.train.loop.train.after_step')
  if isinstance(hook, dict) and str(hook.get('@', '')).endswith('DynamicSparsity'):
    regrow = config_value(run, 'common.sparsity.dst.DynamicSparsity.regrow', 'random')
    return f'G2G+DST ({"Hebbian" if regrow == "hebbian" else "random"})'
  return 'G2G'


def table_data(report) -> dict:
  """{'models': [...], 'values': {(model, variant, sparsity): {seed: accuracy}}, 'not_done': n}."""
  values: dict[tuple, dict] = {}
  for r in report.runs:
    if r.status != 'done' or not r.final or METRIC not in r.final:
      continue
    key = (model_of(r), variant_of(r), float(config_value(r, 'SPARSITY', 0.0)))
    values.setdefault(key, {})[config_value(r, 'SEED')] = float(r.final[METRIC])
  models = sorted({k[0] for k in values}, key=lambda m: (m not in MODELS.values(), m))
  done = sum(len(v) for v in values.values())
  return {'models': models, 'values': values, 'not_done': len(report.runs) - done}


def g2g(report, out: str) -> str:
  data = table_data(report)
  values = data['values']
  sparsities = sorted({k[2] for k in values if k[2] > 0})
  lines = [
    'Test accuracy (digits test split, after the last step), mean ± sample std over seeds.',
    '',
    '| model | variant | dense | ' + ' | '.join(f'{s:.0%} sparse' for s in sparsities) + ' |',
    '|---|---|---|' + '---|' * len(sparsities),
  ]
  for m in data['models']:
    for v in VARIANTS:
      cells = [claims.seeds_cell(values.get((m, v, 0.0)))] + [
        claims.seeds_cell(values.get((m, v, s))) for s in sparsities
      ]
      if any(c != '-' for c in cells):
        lines.append(f'| {m} | {v} | ' + ' | '.join(cells) + ' |')
  lines += [
    '',
    'Claims, gaps paired by seed (± standard error of the paired differences):',
    '',
    '| model | comparison | sparsity | gap | verdict |',
    '|---|---|---|---|---|',
  ]
  for m in data['models']:
    dense = values.get((m, 'dense', 0.0), {})
    for s in sparsities:
      for v in ('G2G', 'G2G+DST (random)', 'G2G+DST (Hebbian)'):
        if (m, v, s) in values:
          gap = claims.paired_gap(values[(m, v, s)], dense)
          lines.append(f'| {m} | {v} - dense | {s:.0%} | {claims.gap_text(gap)} | {claims.at_least(gap)} |')
    for s in sparsities:
      heb, rnd = values.get((m, 'G2G+DST (Hebbian)', s)), values.get((m, 'G2G+DST (random)', s))
      if heb and rnd:
        gap = claims.paired_gap(heb, rnd)
        lines.append(f'| {m} | Hebbian - random regrowth | {s:.0%} | {claims.gap_text(gap)} | {claims.at_least(gap)} |')
  if data['not_done']:
    lines += ['', f'{data["not_done"]} run(s) did not finish and are not counted (see "Not averaged").']
  if values:
    path = _plot(data, sparsities, os.path.join(out, 'g2gnet.png'))
    lines += ['', f'Plot: {os.path.basename(path)}.']
  return '\n'.join(lines) + '\n'


def _plot(data: dict, sparsities: list[float], path: str) -> str:
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  values, models = data['values'], data['models']
  fig, axes = plt.subplots(1, len(models), figsize=(5.2 * len(models), 3.8), squeeze=False)
  for ax, m in zip(axes[0], models):
    dense = values.get((m, 'dense', 0.0))
    if dense:
      st = report_lib.stat(list(dense.values()))
      ax.axhline(st.mean, color='k', lw=1, label='dense')
      if st.std:
        ax.axhspan(st.mean - st.std, st.mean + st.std, color='k', alpha=0.1)
    for i, v in enumerate(VARIANTS[1:]):
      pts = [(s, report_lib.stat(list(values[(m, v, s)].values()))) for s in sparsities if (m, v, s) in values]
      if pts:
        xs = [100 * s + (i - 1.5) * 0.8 for s, _ in pts]  # small offsets so the error bars do not overlap
        ax.errorbar(xs, [p.mean for _, p in pts], yerr=[p.std or 0.0 for _, p in pts], marker='o', capsize=3, label=v)
    ax.set_xticks([100 * s for s in sparsities], [f'{s:.0%}' for s in sparsities])
    ax.set_xlabel('sparsity of the masked layers')
    ax.set_ylabel('test accuracy')
    ax.set_title(m, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=110, metadata={'Software': None})
  plt.close(fig)
  return path
