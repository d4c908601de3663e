"""Sweeps: a sweep file next to the experiment's gin files turns one experiment into many trials.

  launch --gin_file=E.gin --sweep=S.py --list_trials                 the trials (swept keys only), validated
  launch --gin_file=E.gin --sweep=S.py --trial=3 --workdir=ROOT      one trial, in ROOT/<trial id> (any scheduler)
  launch --gin_file=E.gin --sweep=S.py --workdir=ROOT --sweep_workers=2
                                                                     all trials, 2 local worker processes at a time,
                                                                     then ROOT/results.{md,csv,png}

A trial is a list of gin bindings, so it replays as a plain `launch ... --gin.K=V` command (--list_trials prints
one). Its id is a hash of its swept values: it does not move when trials are added, reordered or filtered, so
ROOT/<id> is stable and a re-launched sweep skips finished trials and resumes unfinished ones from their
checkpoints. Each trial leaves ROOT/<id>/trial.json (bindings, status, final metrics); launch/trials.py keeps that
bookkeeping for sweeps, vmapped sweeps, studies and `launch report` alike.
The sweep file format is in launch/hyper.py; the materialised sweep is an ml_collections FrozenConfigDict,
written as ROOT/sweep_manifest.json.
"""

import dataclasses
import difflib
import importlib.util
import json
import os
import subprocess
import sys
import time
from typing import Any

from launch import api, distributed, hyper, sweep_report, vmapped
from launch import config_model as cm
from launch import trials as trials_lib
from launch.errors import UsageError
from launch.gin_args import repo_root
from launch.trials import Trial


def load_file(path: str):
  """The sweep file as a module (it defines `sweep(h)` and/or `search(h)`; h is launch.hyper)."""
  if not os.path.isfile(path):
    raise UsageError(f'--sweep={path}: no such file. Sweep files are python files next to the gin files.')
  spec = importlib.util.spec_from_file_location(f'_sweep_{abs(hash(path))}', path)
  module = importlib.util.module_from_spec(spec)
  try:
    spec.loader.exec_module(module)
  except UsageError:
    raise
  except Exception as e:
    raise UsageError(f'{path}: the sweep file failed to load: {type(e).__name__}: {e}') from None
  return module


def load(path: str) -> hyper.Sweep:
  """Runs the sweep file's `sweep(h)` (or `get_hyper(h)`) with h = launch.hyper."""
  module = load_file(path)
  fn = getattr(module, 'sweep', None) or getattr(module, 'get_hyper', None)
  if fn is None:
    raise UsageError(f'{path}: define `def sweep(h): return h.product([...])` (h is launch.hyper).')
  try:
    result = fn(hyper)
  except hyper.SweepError as e:
    raise UsageError(f'{path}: {e}') from None
  if isinstance(result, list):
    result = hyper.chain(result)
  if not isinstance(result, hyper.Sweep) or not result.trials:
    raise UsageError(f'{path}: sweep(h) must return a non-empty h.sweep/h.product/h.zip/...; got {result!r}.')
  return result


def trials_of(sweep: hyper.Sweep, path: str) -> list[Trial]:
  out, seen = [], {}
  for i, values in enumerate(sweep.trials):
    t = trials_lib.make(i, values)
    if t.id in seen:
      raise UsageError(f'{path}: trials {seen[t.id]} and {i} are identical ({dict(values)}); remove one.')
    seen[t.id] = i
    out.append(t)
  return out


def check(trials: list[Trial], keys: list[str], path: str, gin_files, base_bindings, search_paths) -> None:
  """Every swept key names an existing macro or parameter (closest names suggested); every trial validates."""
  # The base alone need not validate: a sweep may supply a REQUIRED value (e.g. SEED) in every trial.
  base = cm.load(gin_files, base_bindings, search_paths or [repo_root()])
  macros = {b.selector for b in base.bindings if b.is_macro}
  for key in keys:
    if '.' not in key.rpartition('/')[2] and key not in macros:
      close = difflib.get_close_matches(key, sorted(macros), n=3, cutoff=0.5)
      hint = f' Did you mean {", ".join(repr(c) for c in close)}?' if close else ''
      raise UsageError(
        f'{path}: swept key {key!r} is neither a macro of the experiment nor configurable.parameter.{hint}\n'
        f'  Macros defined: {", ".join(sorted(macros))}'
      )
  checked = set()
  for t in trials:
    signature = tuple(k for k, _ in t.values)
    if signature in checked:
      continue
    checked.add(signature)
    try:
      api.prepare(gin_files, list(base_bindings) + t.bindings, search_paths)
    except UsageError as e:
      raise UsageError(f'{path}: trial {t.index} ({", ".join(t.bindings)}): {e}') from None


def manifest(path: str, gin_files, base_bindings, keys, trials: list[Trial]):
  """The materialised sweep as an immutable ml_collections record."""
  import ml_collections

  return ml_collections.FrozenConfigDict(
    {
      'sweep_file': path,
      'gin_files': tuple(gin_files),
      'base_bindings': tuple(base_bindings),
      'swept_keys': tuple(keys),
      'trials': {  # by id (ids are valid field names); FrozenConfigDict allows no dicts inside tuples
        t.id: {'index': t.index, 'bindings': tuple(t.bindings), 'values': tuple((k, cm.to_gin(v)) for k, v in t.values)}
        for t in trials
      },
    }
  )


def select(trials: list[Trial], which: str) -> Trial:
  """--trial=INDEX or --trial=ID."""
  by_id = {t.id: t for t in trials}
  if which in by_id:
    return by_id[which]
  try:
    i = int(which)
  except ValueError:
    raise UsageError(f'--trial={which!r} is neither a trial index (0..{len(trials) - 1}) nor a trial id.') from None
  if not 0 <= i < len(trials):
    raise UsageError(f'--trial={i} is out of range: the sweep has {len(trials)} trials (0..{len(trials) - 1}).')
  return trials[i]


def table(trials: list[Trial], keys: list[str]) -> str:
  rows = [['#', 'id', *keys]] + [[str(t.index), t.id, *(t.text(k) for k in keys)] for t in trials]
  widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
  return '\n'.join('  '.join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows) + '\n'


# ----------------------------------------------------------------------------------------------------------------
# Running.


@dataclasses.dataclass
class Options:
  sweep: str
  gin_files: list[str]
  bindings: list[str]
  search_paths: list[str]
  workdir: str | None
  trial: str | None = None
  list_trials: bool = False
  workers: int = 1
  metric: str = ''
  dry_run: bool = False
  passthrough: tuple[str, ...] = ()  # flags every trial process gets (e.g. --platform=cpu)
  argv: list[str] | None = None
  multi_process: bool = False  # this trial runs on several processes (jax.distributed is initialised)
  vmap: bool = False  # all trials as one vmapped program (launch/vmapped.py)


def main(opts: Options) -> int:
  """The --sweep branch of the launcher."""
  sweep = load(opts.sweep)
  trials = trials_of(sweep, opts.sweep)
  keys = [k for k in sweep.keys if len({t.text(k) for t in trials}) > 1] or sweep.keys  # h.fixed keys left out
  if opts.trial is not None:
    return run_trial(opts, select(trials, opts.trial))
  check(trials, sweep.keys, opts.sweep, opts.gin_files, opts.bindings, opts.search_paths)
  if opts.list_trials or opts.dry_run:
    print(table(trials, keys), end='')
    print(f'{len(trials)} trials. One of them:\n  {replay_command(opts, trials[0])}')
    return 0
  if not opts.workdir:
    raise UsageError('a sweep needs --workdir=ROOT (each trial runs in ROOT/<trial id>), or --list_trials.')
  if opts.vmap:
    return vmapped.run(opts, trials, keys)
  return run_local(opts, trials, keys, sweep)


def replay_command(opts: Options, t: Trial) -> str:
  workdir = os.path.join(opts.workdir, t.id) if opts.workdir else None
  return api.command_line(opts.gin_files, [b.replace(' = ', '=') for b in opts.bindings + t.bindings], workdir)


def run_trial(opts: Options, t: Trial) -> int:
  """One trial in this process: the experiment with the trial's bindings appended, in ROOT/<id>."""
  if not opts.workdir and not opts.dry_run:
    raise UsageError('--trial needs --workdir=ROOT (the sweep root; the trial runs in ROOT/<trial id>).')
  workdir = trials_lib.workdir(opts.workdir, t) if opts.workdir else None
  record = {'index': t.index, 'id': t.id, 'bindings': t.bindings, 'sweep_file': opts.sweep}
  record['status'] = trials_lib.RUNNING
  writes = bool(workdir) and not opts.dry_run and trials_lib.is_chief()
  if writes:
    trials_lib.write(workdir, record)
  start = time.time()
  print(f'sweep trial {t.index} ({t.id}): {", ".join(t.bindings)}', flush=True)
  if opts.multi_process:
    prepared = api.prepare(opts.gin_files, list(opts.bindings) + t.bindings, opts.search_paths)
    distributed.agree_on_config(prepared.resolved_json)
  try:
    final = api.execute(
      opts.gin_files,
      list(opts.bindings) + t.bindings,
      workdir=workdir,
      dry_run=opts.dry_run,
      search_paths=opts.search_paths,
      argv=opts.argv,
      swept=t.keys,
    )
  except BaseException as e:
    if writes:
      trials_lib.write(workdir, {**record, 'status': trials_lib.FAILED, 'error': f'{type(e).__name__}: {e}'})
    raise
  final = trials_lib.numeric(final)
  if writes:
    trials_lib.write(workdir, {**record, 'status': trials_lib.DONE, 'final': final, 'seconds': time.time() - start})
  print('final metrics: ' + json.dumps(final, sort_keys=True))
  return 0


def run_local(opts: Options, trials: list[Trial], keys: list[str], sweep) -> int:
  """Every trial as its own `launch --trial=ID` process, `workers` at a time; finished trials are skipped."""
  root = os.path.abspath(opts.workdir)
  os.makedirs(root, exist_ok=True)
  trials_lib.write_json(
    os.path.join(root, 'sweep_manifest.json'),
    manifest(opts.sweep, opts.gin_files, opts.bindings, sweep.keys, trials).to_dict(),
  )

  def record(t):
    return trials_lib.read(trials_lib.workdir(root, t)) or {}

  todo = [t for t in trials if record(t).get('status') != trials_lib.DONE]
  print(f'sweep: {len(trials)} trials, {len(trials) - len(todo)} already done, {opts.workers} worker(s); root {root}')
  running: dict[int, tuple[Trial, subprocess.Popen, Any, float]] = {}
  failed = []
  queue = list(todo)
  while queue or running:
    while queue and len(running) < opts.workers:
      t = queue.pop(0)
      trial_dir = trials_lib.workdir(root, t)
      os.makedirs(trial_dir, exist_ok=True)
      log = open(os.path.join(trial_dir, 'launch.log'), 'a')  # noqa: SIM115 - closed when it ends
      proc = subprocess.Popen(child_command(opts, t, root), stdout=log, stderr=subprocess.STDOUT)
      running[proc.pid] = (t, proc, log, time.time())
    time.sleep(0.2)
    for pid, (t, proc, log, started) in list(running.items()):
      if proc.poll() is None:
        continue
      log.close()
      del running[pid]
      done = len(trials) - len(queue) - len(running)
      if proc.returncode == 0:
        final = record(t).get('final', {})
        shown = ', '.join(f'{k}={v:.4g}' for k, v in sorted(final.items()) if k in ('accuracy', 'loss', opts.metric))
        print(f'[{done}/{len(trials)}] {t.id} done in {time.time() - started:.0f}s  {shown}', flush=True)
      else:
        failed.append(t)
        print(f'[{done}/{len(trials)}] {t.id} FAILED (exit {proc.returncode}); see {log.name}', flush=True)
  paths = sweep_report.write(root, trials, keys, opts.metric)
  print(f'results: {", ".join(paths)}')
  if failed:
    print(f'sweep: {len(failed)} trial(s) failed: {", ".join(t.id for t in failed)}', file=sys.stderr)
    return 1
  return 0


def child_command(opts: Options, t: Trial, root: str) -> list[str]:
  cmd = [sys.executable, '-m', 'launch', *[f'--gin_file={f}' for f in opts.gin_files]]
  cmd += [f'--gin_bindings={b}' for b in opts.bindings]
  cmd += [f'--gin_search_path={p}' for p in opts.search_paths]
  cmd += [f'--sweep={opts.sweep}', f'--trial={t.id}', f'--workdir={root}', *opts.passthrough]
  return cmd
