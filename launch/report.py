"""`launch report ROOT`: every run under ROOT as mean ± std over seeds, as Markdown, CSV, JSON and a plot.

  launch report ROOT [--group_by=KEY,...] [--metrics=M,...] [--format=md|csv|json] [--out=DIR]
                     [--analysis=package.module:function]

A run is any directory under ROOT, at any depth, that holds config/resolved.json (what the launcher writes before
training); it finished when it also holds final_metrics.json (or a trial.json that says done, with the metrics the
entry point returned). Runs are grouped by the config keys whose values
differ between runs (or by --group_by; a key may be written as a suffix, e.g. `MLP.hidden`); the seed (`SEED`,
any `*.seed` parameter) never groups, so the runs of one configuration with different seeds are the n of its row.
Every row shows mean ± the sample standard deviation (ddof=1) of each final metric over its finished runs.
Runs that did not finish (running or killed, failed, or pruned by a study) are listed separately, never averaged.

Outputs, in --out (default ROOT): report.md, report.csv, report.json and report.png (one panel per metric); the
table in --format is also printed. Everything is sorted (groups by their key values, numbers numerically), so the
same runs always give the same files. A ROOT without runs exits with status 2.

A project that needs a paper-specific analysis supplies a function, named with --analysis=module:function, called
as `function(report, out_dir)` with the Report built here; it may write its own files into out_dir and returns
Markdown (or None) that is appended to report.md under "Analysis".

The API (for notebooks and analyses): `find_runs(root)`, `build(runs, group_by=..., metrics=...)`, `markdown`,
`csv_text`, `json_dict`, `plot`, `write`, and `entry_arguments(workdir)` to rebuild a run's model and task.
"""

import argparse
import csv
import dataclasses
import difflib
import importlib
import io
import json
import math
import os
import shlex
import sys
from typing import Any, Callable

from common.train.hparams import ends_with, short_names
from launch import trials as trials_lib
from launch.errors import EXIT_USAGE, UsageError

RESOLVED = os.path.join('config', 'resolved.json')
FINAL = 'final_metrics.json'
SKIP_DIRS = ('checkpoints', 'tensorboard', 'config')
# Final-metric keys that are bookkeeping, not results: never averaged unless asked for with --metrics.
BOOKKEEPING = ('step', 'compile_seconds', 'seconds')
BOOKKEEPING_SUFFIXES = ('_unix_time',)
UNSET = '(unset)'
DONE, UNFINISHED = trials_lib.DONE, 'unfinished'


@dataclasses.dataclass(frozen=True)
class Run:
  """One run directory.

  path: relative to the report's root ('.' when the root is itself a run); workdir: absolute.
  config: every resolved binding, key -> gin text; values: key -> canonical JSON value.
  final: the numeric final metrics (None when the run did not finish).
  status: 'done', 'running', 'failed', 'pruned' or 'unfinished'; detail: why a run is not done (error, step).
  """

  path: str
  workdir: str
  config: dict[str, str]
  values: dict[str, Any]
  final: dict[str, float] | None
  status: str
  detail: str = ''


@dataclasses.dataclass(frozen=True)
class Stat:
  """A metric over a group's finished runs: mean, sample std (None when n < 2), n, and the values (run order)."""

  mean: float
  std: float | None
  n: int
  values: tuple[float, ...]


@dataclasses.dataclass(frozen=True)
class Group:
  config: dict[str, str]  # group key -> gin text
  runs: tuple[Run, ...]  # the finished runs averaged in this row
  stats: dict[str, Stat]


@dataclasses.dataclass(frozen=True)
class Report:
  keys: list[str]  # the grouping keys (full config keys)
  labels: dict[str, str]  # key -> its short column name
  metrics: list[str]
  groups: list[Group]
  others: list[Run]  # runs not averaged (not done)
  runs: list[Run]  # every run found
  pooled: list[str] = dataclasses.field(default_factory=list)  # keys that differ but were not grouped by


# ------------------------------------------------------------------------------------------------------------------
# Reading runs.


def find_runs(root: str) -> list[Run]:
  """Every run under `root` (any depth), sorted by path. Raises UsageError when root is missing."""
  if not os.path.isdir(root):
    raise UsageError(f'{root}: no such directory. Give the root that holds run directories (each with config/).')
  root = os.path.abspath(root)
  runs = []
  for dirpath, dirnames, _ in os.walk(root):
    dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith('.'))
    if os.path.isfile(os.path.join(dirpath, RESOLVED)):
      runs.append(load_run(dirpath, root))
  return sorted(runs, key=lambda r: r.path)


def load_run(workdir: str, root: str | None = None) -> Run:
  """The run in `workdir` (path relative to `root`, default its parent)."""
  workdir = os.path.abspath(workdir)
  resolved = trials_lib.read_json(os.path.join(workdir, RESOLVED)) or {}
  bindings = resolved.get('bindings', {})
  values = {k: b.get('value') for k, b in bindings.items()}
  config = {k: _effective_gin(k, bindings) for k in bindings}
  final = trials_lib.read_json(os.path.join(workdir, FINAL))
  record = trials_lib.read(workdir) or {}
  if final is None and record.get('status') == DONE and isinstance(record.get('final'), dict):
    final = record['final']  # an entry point that returns its metrics without writing final_metrics.json
  status = record.get('status') or UNFINISHED
  if final is not None and status != trials_lib.PRUNED:
    status = DONE
  elif status == DONE:  # a trial.json that says done without final metrics: the run dir was tampered with
    status = UNFINISHED
  detail = ''
  if status != DONE:
    detail = record.get('error') or record.get('reason') or _last_step(workdir)
  rel = os.path.relpath(workdir, os.path.abspath(root or os.path.dirname(workdir))).replace(os.sep, '/')
  return Run(rel, workdir, config, values, trials_lib.numeric(final) if final is not None else None, status, detail)


def _macro(value: Any) -> str | None:
  """The macro a binding's value refers to (`{'%': 'MODEL'}` -> 'MODEL'), else None."""
  return value['%'] if isinstance(value, dict) and set(value) == {'%'} else None


def _effective_gin(key: str, bindings: dict) -> str:
  """A binding's gin text with macro references followed to the macro's own text: runs made from a config that
  binds `run.model = %MODEL` and from one that binds it directly group together when they mean the same model."""
  seen = set()
  while (name := _macro(bindings[key].get('value'))) in bindings and name not in seen:
    seen.add(key)
    key = name
  b = bindings[key]
  return b.get('gin', json.dumps(b.get('value')))


def _last_step(workdir: str) -> str:
  path = os.path.join(workdir, 'metrics.jsonl')
  if not os.path.isfile(path):
    return 'no metrics logged'
  last = None
  with open(path) as f:
    for line in f:
      if line.strip():
        last = line
  if last is None:
    return 'no metrics logged'
  return f'last logged step {json.loads(last).get("step")}'


def run_json(run: Run, name: str) -> Any:
  """For analyses: the JSON file `name` a run wrote into its workdir (e.g. 'halting.json'), or None if it has none."""
  path = os.path.join(run.workdir, name)
  if not os.path.isfile(path):
    return None
  with open(path) as f:
    return json.load(f)


def config_value(run: Run, name: str, default: Any = None) -> Any:
  """For analyses: the run's value of config key `name` (exact, or the first key ending in `.name`), macro
  references (`{'%': MACRO}`) followed; `default` when the run has no such key."""
  value = run.values.get(name)
  if value is None:
    value = next((v for k, v in sorted(run.values.items()) if ends_with(k, name) and v is not None), default)
  while isinstance(value, dict) and set(value) == {'%'}:
    value = run.values.get(value['%'], default)
  return value


# ------------------------------------------------------------------------------------------------------------------
# Grouping.


def is_seed_key(key: str) -> bool:
  """SEED and every `*.seed` parameter: seeds are what a row averages over, never a grouping key."""
  bare = key.rpartition('/')[2]
  return bare == 'SEED' or bare.rpartition('.')[2] == 'seed'


def _is_volatile(key: str) -> bool:
  return key.rpartition('.')[2] == 'workdir'


def varying_keys(runs: list[Run]) -> list[str]:
  """Config keys whose effective value differs between runs (a key missing from some runs differs), seeds excluded.

  A key bound to the same macro in every run is left out: the macro's own key carries the difference.
  """
  keys = sorted({k for r in runs for k in r.config})

  def one_macro(k):
    refs = {_macro(r.values.get(k)) for r in runs}
    return len(refs) == 1 and None not in refs

  return [
    k
    for k in keys
    if not is_seed_key(k)
    and not _is_volatile(k)
    and not one_macro(k)
    and len({r.config.get(k, UNSET) for r in runs}) > 1
  ]


def resolve_keys(requested: list[str], runs: list[Run]) -> list[str]:
  """--group_by names -> full config keys (exact, or the one key ending in `.NAME`); UsageError otherwise."""
  all_keys = sorted({k for r in runs for k in r.config})
  out = []
  for name in requested:
    if is_seed_key(name):
      raise UsageError(
        f'--group_by={name}: the seed never groups; the runs of one configuration with different seeds are the '
        'n that each row averages over. Leave it out.'
      )
    matches = [k for k in all_keys if ends_with(k, name)]
    if len(matches) > 1 and name in matches:
      matches = [name]
    if not matches:
      close = difflib.get_close_matches(name, all_keys + list(short_names(all_keys, all_keys).values()), n=3)
      hint = f' Did you mean {", ".join(repr(c) for c in close)}?' if close else ''
      raise UsageError(f'--group_by={name}: no run under the root has a config key {name!r}.{hint}')
    if len(matches) > 1:
      raise UsageError(f'--group_by={name} is ambiguous: {", ".join(matches)}. Write more of the key.')
    out.append(matches[0])
  return out


def _sort_value(value: Any, text: str):
  if isinstance(value, (int, float)) and not isinstance(value, bool):
    return (1, float(value), text)
  return (0 if text == UNSET else 2, 0.0, text)


def default_metrics(runs: list[Run]) -> list[str]:
  present = {k for r in runs if r.final for k in r.final}
  return sorted(m for m in present if m not in BOOKKEEPING and not m.endswith(BOOKKEEPING_SUFFIXES))


def stat(values: list[float]) -> Stat:
  n = len(values)
  mean = math.fsum(values) / n
  std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else None
  return Stat(mean, std, n, tuple(values))


def build(runs: list[Run], *, group_by: list[str] | None = None, metrics: list[str] | None = None) -> Report:
  """Groups the finished runs and computes each metric's mean ± std. UsageError on unknown keys or metrics."""
  if not runs:
    raise UsageError('no runs to report (a run is a directory holding config/resolved.json).')
  varying = varying_keys(runs)
  keys = resolve_keys(group_by, runs) if group_by else varying
  pooled = [k for k in varying if k not in keys]
  done = [r for r in runs if r.status == DONE]
  available = default_metrics(done)
  if metrics:
    present = {k for r in done for k in r.final}
    missing = [m for m in metrics if m not in present]
    if missing and done:
      raise UsageError(
        f"--metrics: {', '.join(missing)} not among the finished runs' final metrics ({', '.join(sorted(present))})."
      )
  chosen = list(metrics) if metrics else available
  by_config: dict[tuple, list[Run]] = {}
  for r in done:
    by_config.setdefault(tuple(r.config.get(k, UNSET) for k in keys), []).append(r)

  def order(item):
    texts, members = item
    return tuple(_sort_value(members[0].values.get(k), t) for k, t in zip(keys, texts))

  groups = []
  for texts, members in sorted(by_config.items(), key=order):
    stats = {}
    for m in chosen:
      vals = [float(r.final[m]) for r in members if m in r.final]
      if vals:
        stats[m] = stat(vals)
    groups.append(Group(dict(zip(keys, texts)), tuple(members), stats))
  others = [r for r in runs if r.status != DONE]
  labels = short_names(keys, {k for r in runs for k in r.config})
  return Report(keys, labels, chosen, groups, others, list(runs), pooled)


# ------------------------------------------------------------------------------------------------------------------
# Rendering.


def fmt(x: float) -> str:
  """One number, compactly: integers as integers, 4 significant digits, scientific outside [1e-3, 1e5)."""
  if not math.isfinite(x):
    return str(x)
  if float(x).is_integer() and abs(x) < 1e15:
    return str(int(x))
  a = abs(x)
  if a >= 1e5 or a < 1e-3:
    return f'{x:.3e}'
  return f'{x:.4g}'


def fmt_stat(s: Stat | None) -> str:
  """'0.961 ± 0.013': the std to 2 significant digits and the mean to the same decimal place."""
  if s is None:
    return ''
  if s.std is None or not math.isfinite(s.std) or not math.isfinite(s.mean):
    return fmt(s.mean)
  if s.std == 0:
    return f'{fmt(s.mean)} ± 0'
  if abs(s.mean) >= 1e5 or (s.mean != 0 and abs(s.mean) < 1e-3):
    return f'{s.mean:.3e} ± {s.std:.1e}'
  decimals = min(8, max(0, 1 - math.floor(math.log10(s.std))))
  return f'{s.mean:.{decimals}f} ± {s.std:.{decimals}f}'


def _cell(s: Stat | None, n: int) -> str:
  text = fmt_stat(s)
  return f'{text} (n={s.n})' if s is not None and s.n != n else text


def table_rows(report: Report) -> tuple[list[str], list[list[str]]]:
  header = [report.labels[k] for k in report.keys] + ['n'] + report.metrics
  body = [
    [g.config[k] for k in report.keys]
    + [str(len(g.runs))]
    + [_cell(g.stats.get(m), len(g.runs)) for m in report.metrics]
    for g in report.groups
  ]
  return header, body


def _md_table(header: list[str], body: list[list[str]]) -> list[str]:
  esc = lambda c: c.replace('|', '\\|')  # noqa: E731
  lines = ['| ' + ' | '.join(map(esc, header)) + ' |', '|' + '---|' * len(header)]
  return lines + ['| ' + ' | '.join(map(esc, row)) + ' |' for row in body]


def markdown(report: Report, command: str = '') -> str:
  header, body = table_rows(report)
  lines = []
  if report.groups:
    lines += _md_table(header, body)
  else:
    lines.append('No finished runs yet.')
  done = sum(len(g.runs) for g in report.groups)
  lines += ['', f'{done} finished run(s) in {len(report.groups)} group(s); mean ± sample standard deviation (ddof=1).']
  renamed = [f'{report.labels[k]} = `{k}`' for k in report.keys if report.labels[k] != k]
  if renamed:
    lines.append('Columns: ' + ', '.join(renamed))
  if report.pooled:
    lines.append('Pooled (these keys differ between runs but were not grouped by): ' + ', '.join(report.pooled))
  if command:
    lines.append(f'Command: `{command}`')
  if report.others:
    lines += ['', '## Not averaged', '']
    rows = [
      [
        r.path,
        r.status,
        ', '.join(f'{report.labels[k]}={r.config.get(k, UNSET)}' for k in report.keys),
        _short(r.detail),
      ]
      for r in sorted(report.others, key=lambda r: (r.status, r.path))
    ]
    lines += _md_table(['run', 'status', 'config', 'detail'], rows)
  return '\n'.join(line.rstrip() for line in lines) + '\n'


def _short(text: str, width: int = 100) -> str:
  text = ' '.join(str(text).split())
  return text if len(text) <= width else text[: width - 3] + '...'


def csv_text(report: Report) -> str:
  """One row per group: the key values, n, then <metric>_mean and <metric>_std (full precision)."""
  buf = io.StringIO()
  writer = csv.writer(buf, lineterminator='\n')
  writer.writerow(
    [report.labels[k] for k in report.keys] + ['n'] + [f'{m}_{s}' for m in report.metrics for s in ('mean', 'std')]
  )
  for g in report.groups:
    cells = []
    for m in report.metrics:
      s = g.stats.get(m)
      cells += ['', ''] if s is None else [repr(s.mean), '' if s.std is None else repr(s.std)]
    writer.writerow([g.config[k] for k in report.keys] + [len(g.runs)] + cells)
  return buf.getvalue()


def json_dict(report: Report) -> dict:
  return {
    'group_by': report.keys,
    'labels': report.labels,
    'metrics': report.metrics,
    'std': 'sample standard deviation (ddof=1); null when n < 2',
    'groups': [
      {
        'config': g.config,
        'n': len(g.runs),
        'runs': [r.path for r in g.runs],
        'metrics': {m: dataclasses.asdict(s) for m, s in g.stats.items()},
      }
      for g in report.groups
    ],
    'not_averaged': [
      {
        'run': r.path,
        'status': r.status,
        'config': {k: r.config.get(k, UNSET) for k in report.keys},
        'detail': r.detail,
      }
      for r in report.others
    ],
    'pooled': report.pooled,
  }


def plot(report: Report, path: str, *, max_panels: int = 6) -> str | None:
  """One panel per metric (up to max_panels): group means with ± std bars. None when nothing finished."""
  metrics = [m for m in report.metrics if any(m in g.stats for g in report.groups)][:max_panels]
  if not metrics:
    return None
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  numeric_axis = len(report.keys) == 1 and all(
    isinstance(g.runs[0].values.get(report.keys[0]), (int, float))
    and not isinstance(g.runs[0].values.get(report.keys[0]), bool)
    for g in report.groups
  )
  labels = [', '.join(g.config[k] for k in report.keys) or 'all runs' for g in report.groups]
  fig, axes = plt.subplots(1, len(metrics), figsize=(3.8 * len(metrics), 3.2), squeeze=False)
  for ax, m in zip(axes[0], metrics):
    pts = [(i, g) for i, g in enumerate(report.groups) if m in g.stats]
    ys = [g.stats[m].mean for _, g in pts]
    errs = [g.stats[m].std or 0.0 for _, g in pts]
    if numeric_axis:
      xs = [float(g.runs[0].values[report.keys[0]]) for _, g in pts]
      ax.errorbar(xs, ys, yerr=errs, marker='o', capsize=3)
      if min(xs) > 0 and max(xs) / min(xs) >= 8:
        ax.set_xscale('log')
      ax.set_xlabel(report.labels[report.keys[0]], fontsize=8)
    else:
      ax.errorbar([i for i, _ in pts], ys, yerr=errs, marker='o', linestyle='none', capsize=3)
      ax.set_xticks(range(len(labels)), [_short(t, 30) for t in labels], rotation=30, ha='right', fontsize=7)
      if report.keys:
        ax.set_xlabel(', '.join(report.labels[k] for k in report.keys), fontsize=8)
    ax.set_title(m, fontsize=9)
    ax.grid(alpha=0.3)
  fig.tight_layout()
  fig.savefig(path, dpi=90, metadata={'Software': None})
  plt.close(fig)
  return path


def load_analysis(spec: str) -> Callable:
  """'package.module:function' -> the function (UsageError when it cannot be imported)."""
  module_name, sep, fn_name = spec.partition(':')
  if not sep or not module_name or not fn_name:
    raise UsageError(f'--analysis={spec!r}: write module:function, e.g. projects.sdr_theory.report:analyse.')
  try:
    module = importlib.import_module(module_name)
  except ImportError as e:
    raise UsageError(f'--analysis={spec}: cannot import {module_name} ({e}).') from None
  fn = getattr(module, fn_name, None)
  if not callable(fn):
    raise UsageError(f'--analysis={spec}: {module_name} has no function {fn_name!r}.')
  return fn


def write(report: Report, out: str, *, command: str = '', analysis: Callable | None = None) -> dict[str, str]:
  """Writes report.{md,csv,json,png} into `out`; returns {format: path} (png only when something finished)."""
  os.makedirs(out, exist_ok=True)
  text = markdown(report, command)
  if analysis is not None:
    extra = analysis(report, out)
    if extra:
      text += '\n## Analysis\n\n' + extra.rstrip() + '\n'
  paths = {'md': os.path.join(out, 'report.md'), 'csv': os.path.join(out, 'report.csv')}
  paths['json'] = os.path.join(out, 'report.json')
  for fmt_name, body in (('md', text), ('csv', csv_text(report))):
    tmp = paths[fmt_name] + f'.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
      f.write(body)
    os.replace(tmp, paths[fmt_name])
  trials_lib.write_json(paths['json'], json_dict(report))
  png = plot(report, os.path.join(out, 'report.png'))
  if png:
    paths['png'] = png
  return paths


# ------------------------------------------------------------------------------------------------------------------
# Rebuilding a run's objects (notebooks).


def entry_arguments(workdir: str) -> tuple[str, dict[str, Any]]:
  """(entry point name, the keyword arguments gin binds for it) rebuilt from a finished run's operative config.

  For notebooks: `_, kw = entry_arguments(w)` gives kw['model'], kw['task'], kw['optimizer'] ... as the run had
  them. Parses config/operative.gin (what the code read, with its imports) into gin, replacing gin's config.
  """
  import gin

  from launch import config_model as cm

  path = os.path.join(workdir, 'config', 'operative.gin')
  if not os.path.isfile(path):
    raise UsageError(f'{workdir}: no config/operative.gin; the launcher writes it when a run finishes.')
  resolved = trials_lib.read_json(os.path.join(workdir, RESOLVED)) or {}
  entry = (resolved.get('bindings', {}).get('ENTRY_POINT', {}).get('value') or {}).get('@')
  fn = cm.import_object(entry) if entry else None
  if fn is None:
    raise UsageError(f'{workdir}: config/resolved.json names no importable ENTRY_POINT ({entry!r}).')
  gin.clear_config(clear_constants=True)
  with open(path) as f:
    gin.parse_config(f.read())
  return entry, gin.get_bindings(fn)


# ------------------------------------------------------------------------------------------------------------------
# The command.


def _parser() -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(prog='launch report', description=__doc__.split('\n\n')[0])
  p.add_argument('root', help='directory holding run directories (any depth)')
  p.add_argument('--group_by', default='', help='comma-separated config keys (default: the keys that differ)')
  p.add_argument('--metrics', default='', help='comma-separated final metrics (default: all but bookkeeping)')
  p.add_argument('--format', choices=('md', 'csv', 'json'), default='md', help='what is printed')
  p.add_argument('--out', default=None, help='where report.{md,csv,json,png} go (default: ROOT)')
  p.add_argument('--analysis', default='', help='module:function called as function(report, out_dir)')
  return p


def _split(text: str) -> list[str]:
  return [t.strip() for t in text.split(',') if t.strip()]


def main(argv: list[str]) -> int:
  try:
    args = _parser().parse_args(argv)
  except SystemExit as e:  # argparse exits 2 on bad usage, 0 on --help
    return int(e.code or 0)
  try:
    runs = find_runs(args.root)
    if not runs:
      raise UsageError(
        f'{args.root}: no runs found. A run is a directory holding config/resolved.json (what `launch` writes); '
        'check the path.'
      )
    report = build(runs, group_by=_split(args.group_by), metrics=_split(args.metrics))
    analysis = load_analysis(args.analysis) if args.analysis else None
    command = shlex.join(['launch', 'report', *argv])
    paths = write(report, args.out or args.root, command=command, analysis=analysis)
  except UsageError as e:
    print(f'launch report: {e}', file=sys.stderr, flush=True)
    return EXIT_USAGE
  if args.format == 'md':
    with open(paths['md']) as f:
      sys.stdout.write(f.read())
  elif args.format == 'csv':
    sys.stdout.write(csv_text(report))
  else:
    sys.stdout.write(json.dumps(json_dict(report), indent=2, sort_keys=True) + '\n')
  print('wrote ' + ', '.join(paths[k] for k in sorted(paths)), file=sys.stderr)
  return 0
