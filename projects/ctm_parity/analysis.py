"""The parity table (each experiment scored at the tick its model is read at, mean ± std over seeds) and
accuracy.png, as a `launch report` analysis.

  launch report ROOT --analysis=projects.ctm_parity.analysis:parity

ROOT holds finished runs of configs/ctm_parity/*.gin (loop.train on tasks.ParityTask; the sweeps in
configs/ctm_parity/sweeps/, commands in projects/ctm_parity/README.md). Each report group is one experiment, named
from its config: the model (CTM or LSTM), T (ITERATIONS), the width (D_MODEL for the CTM, LSTM_HIDDEN for the
LSTM), the ablations (ctm.CTM.shared_nlm, ctm.CTM.readout='post') and the step count. The CTM is scored at its most
certain tick (final metric `accuracy`, as the reference reports), the LSTM at its last tick (`accuracy_last`, the
tick its loss trains); both are in the table with the per-example best tick (an oracle) and the mean certain tick.

Writes <out>/accuracy.png: left, the accuracy at every tick (final metrics tick<t>_accuracy, mean over seeds), one
curve per experiment; right, the scored accuracy against T for the CTM and the LSTM without ablations (mean ± std),
one line per width and step count.
"""

import os
import re

from launch import claims
from launch import report as report_lib
from launch.report import config_value

BF16 = 'bfloat16 matmuls'  # CTM.compute_dtype='bfloat16' (sweeps/precision.py), named like an ablation

COLUMNS = (
  ('accuracy', 'at most certain tick'),
  ('accuracy_last', 'at last tick'),
  ('accuracy_best', 'best tick per example (oracle)'),
  ('mean_certain_tick', 'mean certain tick'),
)


def model_name(run: report_lib.Run) -> str:
  model = config_value(run, 'loop.train.model')
  name = model.get('@', '?') if isinstance(model, dict) else '?'
  return 'LSTM' if name.endswith('LSTMBaseline') else name.rpartition('.')[2]


def experiment(run: report_lib.Run) -> dict:
  """What names a row: model, T, width, ablations, steps."""
  lstm = model_name(run) == 'LSTM'
  return {
    'model': model_name(run),
    'T': config_value(run, 'ITERATIONS'),
    'width': f'hidden {config_value(run, "LSTM_HIDDEN")}' if lstm else f'D {config_value(run, "D_MODEL")}',
    'ablation': ', '.join(
      text
      for text, on in (
        ('shared NLM', bool(config_value(run, 'CTM.shared_nlm', False))),
        ('post-activation readout', config_value(run, 'CTM.readout', 'synch') == 'post'),
        (BF16, config_value(run, 'CTM.compute_dtype', 'float32') == 'bfloat16'),
      )
      if on
    ),
    'steps': int(run.final.get('step', 0)),
  }


def scored(run: report_lib.Run) -> str:
  return 'accuracy_last' if model_name(run) == 'LSTM' else 'accuracy'


def rows(report: report_lib.Report) -> list[dict]:
  """One dict per report group whose runs are parity runs: experiment fields, params, n, scored and column Stats."""
  out = []
  for group in report.groups:
    runs = [r for r in group.runs if scored(r) in r.final]
    if not runs:
      continue
    stats = {key: report_lib.stat([r.final[key] for r in runs]) for key, _ in COLUMNS if key in runs[0].final}
    # tick<t>_accuracy with t zero-padded (tick001_accuracy): ordered by the number, read by the key itself.
    keys = sorted((k for k in runs[0].final if re.fullmatch(r'tick\d+_accuracy', k)), key=lambda k: int(k[4:-9]))
    per_tick = [sum(r.final[k] for r in runs) / len(runs) for k in keys]
    row = {**experiment(runs[0]), 'params': int(runs[0].final.get('num_params', 0)), 'n': len(runs)}
    row.update(score=report_lib.stat([r.final[scored(r)] for r in runs]), stats=stats, per_tick=per_tick)
    row['seeds'] = claims.by_seed(runs, lambda r: r.final[scored(r)])
    out.append(row)
  return sorted(out, key=lambda r: (r['steps'], r['model'] == 'LSTM', bool(r['ablation']), r['width'], r['T']))


def _name(row: dict) -> str:
  return f'{row["model"]} T={row["T"]}, {row["width"]}' + (f', {row["ablation"]}' if row['ablation'] else '')


def parity(report: report_lib.Report, out_dir: str) -> str:
  """The README's table (Markdown) and accuracy.png; see the module docstring."""
  table = rows(report)
  if not table:
    return 'No finished parity runs (final metric accuracy / accuracy_last) under the root.'
  lines = [
    'Mean ± std over n seeds (ddof=1); accuracy per position of the 16-bit sequences (chance 0.5). Scored: the CTM '
    'at its most certain tick, the LSTM at its last tick.',
    '',
    '| experiment | params | steps | n | accuracy (scored tick) | ' + ' | '.join(t for _, t in COLUMNS) + ' |',
    '|---|---|---|---|---|' + '---|' * len(COLUMNS),
  ]
  for row in table:
    cells = [report_lib.fmt_stat(row['stats'].get(key)) for key, _ in COLUMNS]
    lines.append(
      f'| {_name(row)} | {row["params"]:,} | {row["steps"]} | {row["n"]} | {report_lib.fmt_stat(row["score"])} | '
      + ' | '.join(cells)
      + ' |'
    )
  lines += claim_lines(table)
  lines += precision_lines(table)
  path = plot(table, os.path.join(out_dir, 'accuracy.png'))
  lines += ['', f'Plot: {os.path.basename(path)} (accuracy at every tick; scored accuracy against T).']
  return '\n'.join(lines) + '\n'


def claim_lines(table: list[dict]) -> list[str]:
  """The paper's parity claims, judged on seed-paired gaps of the scored accuracy (launch/claims.py), per budget:
  the CTM above its parameter-matched LSTM at each T (params within 1%); accuracy rising with T (each CTM T above
  the CTM at the smallest T); the full CTM above each ablation at the same T."""
  out = []
  plain = [r for r in table if r['model'] != 'LSTM' and not r['ablation']]

  def claim(text, condition, a, b):
    gap = claims.paired_gap(a['seeds'], b['seeds'])
    out.append(f'| {text} | {condition} | {claims.gap_text(gap)} | {claims.above(gap)} |')

  for steps in sorted({r['steps'] for r in plain}):
    ctms = sorted((r for r in plain if r['steps'] == steps), key=lambda r: (r['width'], r['T']))
    for ctm in ctms:
      lstm = next(
        (
          r
          for r in table
          if r['model'] == 'LSTM' and r['T'] == ctm['T'] and r['steps'] == steps
          and abs(r['params'] - ctm['params']) <= 0.01 * ctm['params']
        ),
        None,
      )  # fmt: skip
      if lstm is not None:
        claim(f'CTM above matched LSTM ({_name(lstm)})', f'{_name(ctm)}, {steps} steps', ctm, lstm)
    for width in sorted({r['width'] for r in ctms}):
      same = [r for r in ctms if r['width'] == width]
      for ctm in same[1:]:
        claim(f'accuracy rises with T (T={ctm["T"]} above T={same[0]["T"]})', f'CTM {width}, {steps} steps', ctm,
              same[0])  # fmt: skip
    for ablated in (r for r in table if r['steps'] == steps and r['ablation'] and BF16 not in r['ablation']):
      full = next((r for r in ctms if r['T'] == ablated['T'] and r['width'] == ablated['width']), None)
      if full is not None:
        claim(f'full CTM above ablation ({ablated["ablation"]})', f'{_name(full)}, {steps} steps', full, ablated)
  if not out:
    return []
  header = ['', 'Claims, seed-paired (gap = A - B of "A above B" in scored accuracy, ± its standard error):', '']
  return header + ['| claim | condition | gap | verdict |', '|---|---|---|---|', *out]


def precision_lines(table: list[dict]) -> list[str]:
  """For each bfloat16 row with a float32 twin (same experiment otherwise): the scored accuracy's seed-paired gap,
  bfloat16 - float32 (launch/claims.py), with its per-seed differences."""
  out = []
  for row in (r for r in table if BF16 in r['ablation']):
    plain = ', '.join(a for a in row['ablation'].split(', ') if a != BF16)
    key = lambda r: (r['model'], r['T'], r['width'], r['steps'])  # noqa: E731
    twin = next((r for r in table if key(r) == key(row) and r['ablation'] == plain), None)
    if twin is None:
      continue
    diffs = ', '.join(
      f'{row["seeds"][s] - twin["seeds"][s]:+.4f}' for s in sorted(set(row['seeds']) & set(twin['seeds']))
    )
    gap = claims.paired_gap(row['seeds'], twin['seeds'])
    out.append(
      f'- {_name(row)}, {row["steps"]} steps: bfloat16 - float32 = {claims.gap_text(gap)} (mean ± standard error, '
      f'seed-paired; per seed {diffs})'
    )
  return ['', 'The bfloat16 option (seed-paired, scored accuracy):', *out] if out else []


def plot(table: list[dict], path: str) -> str:
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
  for row in table:
    if row['per_tick']:
      ls = '--' if row['model'] == 'LSTM' else '-'
      ax1.plot(range(1, len(row['per_tick']) + 1), row['per_tick'], ls, marker='.', label=_name(row))
  ax1.set(xlabel='internal tick', ylabel='eval accuracy (per position)', title='accuracy at every tick')
  ax1.legend(fontsize=6)
  lines: dict[tuple, list] = {}
  for row in table:
    if not row['ablation']:
      lines.setdefault((row['model'], row['width'], row['steps']), []).append(row)
  ts = sorted({r['T'] for pts in lines.values() for r in pts})
  for (model, width, steps), pts in lines.items():
    pts = sorted(pts, key=lambda r: r['T'])
    ax2.errorbar(
      [r['T'] for r in pts], [r['score'].mean for r in pts], yerr=[r['score'].std or 0.0 for r in pts],
      marker='o', capsize=3, ls='--' if model == 'LSTM' else '-', label=f'{model}, {width}, {steps} steps',
    )  # fmt: skip
  ax2.set(xscale='log', xlabel='internal ticks T', ylabel='eval accuracy (scored tick)', title='accuracy vs T')
  ax2.set_xticks(ts, [str(t) for t in ts])
  ax2.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=100, metadata={'Software': None})
  plt.close(fig)
  return path
