"""The ELM comparison's tables and plot as a `launch report` analysis:

  launch report ROOT --analysis=projects.elm_neuron.analysis:tables

Every finished run under ROOT is one (config, GAP or LENGTH, seed) of configs/elm_neuron/ (sweeps in
configs/elm_neuron/sweeps/). A run's model is read from its config: the SequenceModel's core (ELM, LSTM, GRU), an
ELM with num_branches > 1 is 'branch_elm', one with tau_max < 1000 is 'elm_capped'. Spike adding (runs binding GAP):
test accuracy in % per model and gap; the adding problem (runs binding LENGTH): test MSE and accuracy (|error| <
0.04) per model and (length, steps). Cells are mean ± sample std (ddof=1) over seeds, with n when it is not the
same everywhere. Writes accuracy_vs_gap.png for spike adding.

The claims are judged on seed-paired gaps with launch/claims.py (runs paired by SEED; 'above: holds' when the mean
difference exceeds 2 standard errors of it): at every gap the ELM's accuracy above the LSTM's, the GRU's and the
capped ELM's (the paper's timescale ablation), and at every adding budget the ELM's MSE below the LSTM's.
"""

import os

import numpy as np

from launch import claims
from launch import report as report_lib

MODELS = ('elm', 'branch_elm', 'elm_capped', 'lstm', 'gru')


def model_name(run) -> str:
  core = report_lib.config_value(run, 'SequenceModel.core')
  target = core.get('@', '') if isinstance(core, dict) else str(core)
  kind = target.rpartition('.')[2].rstrip('()').lower()
  if kind == 'elm':
    if (report_lib.config_value(run, 'ELM.num_branches') or 1) > 1:
      return 'branch_elm'
    if float(report_lib.config_value(run, 'ELM.tau_max', 1000.0)) < 1000.0:
      return 'elm_capped'
  return kind


def _cell(stat, scale: float, digits: int) -> str:
  if stat is None:
    return 'not run'
  text = f'{scale * stat.mean:.{digits}f}'
  if stat.std is not None:
    text += f' ± {scale * stat.std:.{digits}f}'
  return text


def _rank(name: str) -> tuple:
  return (MODELS.index(name) if name in MODELS else len(MODELS), name)


def collect(report) -> dict:
  """{'spike': {(model, gap): group}, 'adding': {(model, (length, steps)): group}, 'params': {(table, model): n}}."""
  out = {'spike': {}, 'adding': {}, 'params': {}}
  for g in report.groups:
    run = g.runs[0]
    model = model_name(run)
    gap = report_lib.config_value(run, 'GAP')
    if gap is not None:
      table, column = 'spike', int(gap)
    else:
      length = report_lib.config_value(run, 'LENGTH')
      table, column = 'adding', (int(length), int(report_lib.config_value(run, 'NUM_STEPS')))
    out[table][model, column] = g
    if 'num_params' in g.stats:
      out['params'][table, model] = int(g.stats['num_params'].mean)
  return out


def claim_rows(data: dict) -> list[str]:
  """Markdown rows | claim | condition | gap | verdict | (gap = A - B of 'A above B', launch/claims.py)."""
  rows = []
  spike = data['spike']
  for gap in sorted({c for _, c in spike}):
    for other in ('lstm', 'gru', 'elm_capped'):
      if ('elm', gap) in spike and (other, gap) in spike:
        accs = [claims.by_seed(spike[m, gap].runs, lambda r: 100.0 * r.final['accuracy']) for m in ('elm', other)]
        g = claims.paired_gap(*accs)
        rows.append(
          f'| ELM accuracy above {other} (points) | gap {gap} | {claims.gap_text(g, 1)} | {claims.above(g)} |'
        )
  adding = data['adding']
  for length, steps in sorted({c for _, c in adding}, reverse=True):
    b = (length, steps)
    if ('elm', b) in adding and ('lstm', b) in adding:
      g = claims.paired_gap(*(claims.by_seed(adding[m, b].runs, lambda r: r.final['loss']) for m in ('lstm', 'elm')))
      rows.append(
        f'| ELM MSE below LSTM (LSTM - ELM) | T={length}, {steps} steps | {claims.gap_text(g)} | {claims.above(g)} |'
      )
  return rows


def tables(report, out: str) -> str:
  data = collect(report)
  parts = []
  spike = data['spike']
  if spike:
    gaps = sorted({c for _, c in spike})
    models = sorted({m for m, _ in spike}, key=_rank)
    lines = [
      '### Spike adding (test accuracy %, 19 classes; chance ~ 10% for the most common sum)',
      '',
      '| model | params | ' + ' | '.join(f'gap {g}' for g in gaps) + ' | n |',
      '|---' * (3 + len(gaps)) + '|',
    ]
    for m in models:
      cells = [_cell(spike[m, g].stats.get('accuracy') if (m, g) in spike else None, 100.0, 1) for g in gaps]
      ns = sorted({s.n for g in gaps if (m, g) in spike for s in [spike[m, g].stats.get('accuracy')] if s})
      lines.append(
        f'| {m} | {data["params"].get(("spike", m), "-")} | ' + ' | '.join(cells) + f' | {"/".join(map(str, ns))} |'
      )
    path = _plot(spike, gaps, models, os.path.join(out, 'accuracy_vs_gap.png'))
    lines += ['', f'Plot: {os.path.basename(path)}.']
    parts.append('\n'.join(lines))
  adding = data['adding']
  if adding:
    budgets = sorted({c for _, c in adding}, reverse=True)
    models = sorted({m for m, _ in adding}, key=_rank)
    head = ' | '.join(f'T={t} ({s} steps) MSE | T={t} acc' for t, s in budgets)
    lines = [
      '### Adding problem (test MSE; predicting the mean gives ~0.167; accuracy = |error| < 0.04, %)',
      '',
      f'| model | params | {head} | n |',
      '|---' * (3 + 2 * len(budgets)) + '|',
    ]
    for m in models:
      cells, ns = [], set()
      for b in budgets:
        stats = adding[m, b].stats if (m, b) in adding else {}
        cells += [_cell(stats.get('loss'), 1.0, 4), _cell(stats.get('accuracy'), 100.0, 1)]
        ns |= {s.n for s in stats.values()}
      lines.append(
        f'| {m} | {data["params"].get(("adding", m), "-")} | '
        + ' | '.join(cells)
        + f' | {"/".join(map(str, sorted(ns)))} |'
      )
    parts.append('\n'.join(lines))
  if not parts:
    return 'No ELM runs (binding GAP or LENGTH) under the root.\n'
  rows = claim_rows(data)
  if rows:
    head = ['### Claims, seed-paired (gap = A - B of "A above B", ± its standard error; launch/claims.py)', '']
    parts.append('\n'.join(head + ['| claim | condition | gap | verdict |', '|---|---|---|---|'] + rows))
  return '\n\n'.join(parts) + '\n'


def _plot(spike: dict, gaps: list[int], models: list[str], path: str) -> str:
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  fig, ax = plt.subplots(figsize=(5, 3.5))
  for m in models:
    stats = [spike[m, g].stats.get('accuracy') if (m, g) in spike else None for g in gaps]
    mean = [100 * s.mean if s else np.nan for s in stats]
    err = [100 * (s.std or 0.0) if s else 0.0 for s in stats]
    ax.errorbar(gaps, mean, yerr=err, marker='o', capsize=3, label=m)
  ax.set(xscale='log', xlabel='gap between the digits (steps)', ylabel='test accuracy (%)', title='Spike adding')
  ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
  return path
