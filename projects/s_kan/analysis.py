"""The S-KAN comparison's tables and verdicts, as a `launch report` analysis.

  launch report ROOT --group_by=TASK,MODEL,BASIS,MATCH_SKAN --metrics=rmse,accuracy,num_params \
    --analysis=projects.s_kan.analysis:tables

ROOT holds the runs of configs/s_kan/{fitting,digits}_*.gin and skan_digits.gin (projects/s_kan/README.md has the
commands). Each finished run is labelled by its TASK and its model: 'skan' (MODEL = @skan.SKAN()), 'mlp'
(@mlp.MLP()), or a single-basis KAN (@layers.KAN()) named by its BASIS, with '_matched' when MATCH_SKAN widened it
to the S-KAN's parameter count. The test metric is `rmse` (lower is better) or `accuracy` (higher is better).

Writes <out>/models.png (one panel per task, mean ± std per model) and returns two Markdown tables: the S-KAN
against every single basis at its own hidden width and the MLP, and against the parameter-matched single bases,
each with its verdict columns computed from the means; then the claims on seed-paired gaps (launch/claims.py, runs
paired by SEED): the S-KAN at least as good as the best single basis (the one with the best mean) and the best
matched one, and better than the MLP (2 standard errors of the paired difference).
"""

import os

from launch import claims
from launch import report as report_lib

BASES = ('bspline', 'chebyshev', 'fourier', 'rbf', 'mexican_hat')
MATCHED = tuple(f'{b}_matched' for b in BASES)
MODELS = BASES + ('skan', 'mlp') + MATCHED
LOWER_IS_BETTER = {'rmse': True, 'accuracy': False}


def label(run: report_lib.Run) -> str | None:
  """'skan', 'mlp', '<basis>' or '<basis>_matched' from the run's MODEL (None for a run of another config)."""
  model = run.values.get('MODEL')
  name = '.' + model.get('@', '') if isinstance(model, dict) else ''  # e.g. 'common.kan.skan.SKAN'
  if name.endswith('.skan.SKAN'):
    return 'skan'
  if name.endswith('.mlp.MLP'):
    return 'mlp'
  if name.endswith('.layers.KAN'):
    return str(run.values.get('BASIS')) + ('_matched' if run.values.get('MATCH_SKAN') else '')
  return None


def cells(report: report_lib.Report) -> tuple[dict, list[str]]:
  """{task: {model: (metric name, Stat, num_params, {seed: value})}} over the finished runs, and problems found."""
  by_cell: dict[tuple[str, str], list[report_lib.Run]] = {}
  for run in (r for g in report.groups for r in g.runs):
    model = label(run)
    if model is not None:
      by_cell.setdefault((str(run.values.get('TASK')), model), []).append(run)
  out, problems = {}, []
  for (task, model), runs in sorted(by_cell.items()):
    mixed = report_lib.varying_keys(runs)
    if mixed:
      problems.append(f'{task}/{model}: runs differ in {", ".join(mixed)} (not averaged)')
      continue
    metric = next((m for m in LOWER_IS_BETTER if m in runs[0].final), None)
    if metric is None:
      problems.append(f'{task}/{model}: no rmse or accuracy in final metrics')
      continue
    stat = report_lib.stat([float(r.final[metric]) for r in runs])
    seeds = claims.by_seed(runs, lambda r, metric=metric: r.final[metric])
    out.setdefault(task, {})[model] = (metric, stat, int(runs[0].final.get('num_params', 0)), seeds)
  return out, problems


def _cell(entry) -> str:
  if entry is None:
    return '-'
  _, stat, params, _ = entry
  return f'{report_lib.fmt_stat(stat)} ({params})'


def _verdict(row: dict, mine: str, others: tuple[str, ...], strict: bool = False) -> str:
  if mine not in row or not any(o in row for o in others):
    return '-'
  metric = row[mine][0]
  sign = 1.0 if LOWER_IS_BETTER[metric] else -1.0
  best = min(sign * row[o][1].mean for o in others if o in row)
  ours = sign * row[mine][1].mean
  return 'yes' if (ours < best if strict else ours <= best) else 'no'


def tables(report: report_lib.Report, out_dir: str) -> str:
  """The README's two tables (Markdown) and models.png; see the module docstring."""
  rows, problems = cells(report)
  if not rows:
    text = 'No finished S-KAN comparison runs (MODEL = @skan.SKAN() / @layers.KAN() / @mlp.MLP()) under the root.'
    return text + ''.join(f'\nNot tabulated: {p}' for p in problems)
  n = sorted({entry[1].n for row in rows.values() for entry in row.values()})
  plain = [m for m in BASES + ('skan', 'mlp') if any(m in row for row in rows.values())]
  lines = [
    f'Test metric, mean ± std over n = {"/".join(map(str, n))} seeds (rmse: lower is better; accuracy: higher). '
    'Parameters in brackets.',
    '',
    '| task | ' + ' | '.join(plain) + ' | S-KAN <= best single? | S-KAN < MLP? |',
    '|---|' + '---|' * (len(plain) + 2),
  ]
  for task, row in rows.items():
    lines.append(
      f'| {task} | ' + ' | '.join(_cell(row.get(m)) for m in plain) + f' | {_verdict(row, "skan", BASES)} | '
      f'{_verdict(row, "skan", ("mlp",), strict=True)} |'
    )
  matched = [m for m in MATCHED if any(m in row for row in rows.values())]
  if matched:
    lines += [
      '',
      "Single-basis KANs widened to the S-KAN's parameter count (one hidden layer, width chosen per task), same seeds:",
      '',
      '| task | skan | ' + ' | '.join(matched) + ' | S-KAN <= best matched single? |',
      '|---|---|' + '---|' * (len(matched) + 1),
    ]
    for task, row in rows.items():
      if 'skan' in row and any(m in row for m in matched):
        lines.append(
          f'| {task} | {_cell(row["skan"])} | ' + ' | '.join(_cell(row.get(m)) for m in matched) + f' | '
          f'{_verdict(row, "skan", MATCHED)} |'
        )
  lines += claim_lines(rows)
  if problems:
    lines += ['', 'Not tabulated: ' + '; '.join(problems)]
  path = plot(rows, os.path.join(out_dir, 'models.png'))
  lines += ['', f'Plot: {os.path.basename(path)} (mean ± std per model, one panel per task).']
  return '\n'.join(lines) + '\n'


def _sign(row: dict) -> float:
  """+1 where lower is better (rmse), -1 where higher is (accuracy): sign * value is a cost."""
  return 1.0 if LOWER_IS_BETTER[row['skan'][0]] else -1.0


def _paired(row: dict, other: str) -> claims.Gap | None:
  """The S-KAN's seed-paired advantage over `other`: other - skan for rmse, skan - other for accuracy."""
  sign, mine, theirs = _sign(row), row['skan'][3], row[other][3]
  return claims.paired_gap({s: sign * v for s, v in theirs.items()}, {s: sign * v for s, v in mine.items()})


def _best(row: dict, models: tuple[str, ...]) -> str | None:
  present = [m for m in models if m in row]
  return min(present, key=lambda m: _sign(row) * row[m][1].mean) if present else None


def claim_lines(rows: dict) -> list[str]:
  """Markdown: per task, the S-KAN's seed-paired advantage (± its standard error) and the launch/claims.py
  verdict against the best single basis, the MLP and the best matched single basis."""
  body = []
  for task, row in rows.items():
    if 'skan' not in row:
      continue
    texts = []
    for others, verdict in ((BASES, claims.at_least), (('mlp',), claims.above), (MATCHED, claims.at_least)):
      best = _best(row, others)
      gap = _paired(row, best) if best else None
      texts += [f'{best}: {claims.gap_text(gap)}' if best else '-', verdict(gap) if best else '-']
    body.append(f'| {task} | ' + ' | '.join(texts) + ' |')
  if not body:
    return []
  return [
    '',
    "Seed-paired claims (launch/claims.py): the S-KAN's advantage over the other model, per seed (rmse: other - "
    'S-KAN; accuracy: S-KAN - other), mean ± standard error; positive favours the S-KAN:',
    '',
    '| task | vs best single basis | S-KAN at least as good? | vs MLP | S-KAN better? | vs best matched single | '
    'S-KAN at least as good? |',
    '|---|---|---|---|---|---|---|',
    *body,
  ]


def plot(rows: dict, path: str) -> str:
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  fig, axes = plt.subplots(1, len(rows), figsize=(3.2 * len(rows), 3.4), squeeze=False)
  for ax, (task, row) in zip(axes[0], rows.items()):
    names = [m for m in MODELS if m in row]
    ax.bar(range(len(names)), [row[m][1].mean for m in names], yerr=[row[m][1].std or 0.0 for m in names])
    ax.set_xticks(range(len(names)), names, rotation=60, fontsize=7)
    ax.set_title(f'{task} ({row[names[0]][0]})', fontsize=8)
    if LOWER_IS_BETTER[row[names[0]][0]]:
      ax.set_yscale('log')
  fig.tight_layout()
  fig.savefig(path, dpi=80, metadata={'Software': None})
  plt.close(fig)
  return path
