"""Mean ± std over seeds of the halting analysis, from each run's halting.json.

  .venv/bin/python -m projects.ctm_digits.report /tmp/ctm_digits/s0 /tmp/ctm_digits/s1 /tmp/ctm_digits/s2

Prints two markdown tables: accuracy and mean certainty per tick, and the adaptive-halting numbers per threshold.
Workdirs without a halting.json (unfinished runs) are skipped and the seed count says how many were used.
"""

import sys

import numpy as np

from common.train.metrics import read_finished_runs


def fmt(values) -> str:
  values = np.asarray(values, np.float64)
  if len(values) == 1:
    return f'{values[0]:.3f}'
  return f'{values.mean():.3f} ± {values.std(ddof=1):.3f}'


def load(workdirs: list[str]) -> list[dict]:
  return read_finished_runs(workdirs, 'halting.json')


def tables(runs: list[dict]) -> str:
  ticks = len(runs[0]['accuracy_per_tick'])
  lines = [
    f'{len(runs)} seeds, {runs[0]["num_examples"]} test digits each.',
    '',
    '| tick | ' + ' | '.join(str(t + 1) for t in range(ticks)) + ' |',
    '|---|' + '---|' * ticks,
  ]
  for key, label in (('accuracy_per_tick', 'accuracy'), ('certainty_per_tick', 'mean certainty')):
    cells = [fmt([r[key][t] for r in runs]) for t in range(ticks)]
    lines.append(f'| {label} | ' + ' | '.join(cells) + ' |')
  lines += [
    '',
    '| threshold | accuracy | mean ticks | halted | ticks: correct / wrong | ticks: easy half / hard half |'
    ' Spearman(ticks, difficulty) |',
    '|---|---|---|---|---|---|---|',
  ]
  for thr in runs[0]['thresholds']:
    get = lambda k, thr=thr: [r['thresholds'][thr][k] for r in runs]  # noqa: E731
    lines.append(
      f'| {thr} | {fmt(get("accuracy"))} | {fmt(get("mean_ticks"))} | {fmt(get("halted_fraction"))} |'
      f' {fmt(get("mean_ticks_correct"))} / {fmt(get("mean_ticks_wrong"))} |'
      f' {fmt(get("mean_ticks_easy_half"))} / {fmt(get("mean_ticks_hard_half"))} |'
      f' {fmt(get("spearman_ticks_vs_difficulty"))} |'
    )
  return '\n'.join(lines)


def main(argv: list[str]) -> None:
  if not argv:
    sys.exit('usage: python -m projects.ctm_digits.report WORKDIR [WORKDIR ...]')
  runs = load(argv)
  if not runs:
    sys.exit(f'no halting.json in any of {argv}: run the experiment first (see projects/ctm_digits/README.md)')
  print(tables(runs))


if __name__ == '__main__':
  main(sys.argv[1:])
