"""Adaptive search on Optuna: any number of workers, on one machine or many, share one study through its storage.

  launch --gin_file=E.gin --sweep=S.py --study=NAME --num_trials=N --workdir=ROOT
         [--storage=URL] [--sampler=tpe|random] [--study_heartbeat=SECONDS]

The sweep file defines `search(h)` (launch/hyper.py): the space (h.float / h.int ranges, log scale, h.categorical),
the final metric to optimise and its direction, the sampler's seed and the pruning rule. Start the same command as
often as you like, on as many machines as share ROOT and the storage: each worker asks the study for a trial, runs
it in this process (api.execute, so the trial's eval metrics reach the pruner while it trains) and tells the result,
until N trials have finished (completed, pruned, or failed by an exception in the trial itself).

- Storage: `sqlite:///ROOT/study.db` by default; any SQLAlchemy URL (`postgresql://...`, `mysql://...`) for a
  cluster, or `journal:PATH` for Optuna's JournalFileBackend on a shared filesystem.
- A trial is an ordinary run directory, ROOT/<trial id> with the id a hash of its parameter values
  (launch/trials.py), holding trial.json; `launch report ROOT` tabulates a study like any other runs.
- Dead workers: with a database storage every running trial records a heartbeat (--study_heartbeat seconds; a
  grace period of 4 heartbeats). A worker that dies (SIGKILL, preemption) leaves its trial stale; the next worker
  to look marks it failed and Optuna's RetryHeartbeatStaleTrialCallback queues it again with the same parameters
  (3 retries at most), so the retry runs in the same ROOT/<trial id> and resumes from the dead trial's checkpoint.
  Optuna's journal storage has no heartbeat: there a dead worker's trial stays 'running' in the study.
- Pruning: an observer of the run's metrics (common.train.metrics.add_observer) reports the metric's values in the
  spec's split ('eval') to Optuna at their steps and stops the run with RunStopped when the median pruner says
  so; the trial is marked pruned in trial.json and in Optuna, and the worker goes on (exit status 0).
- Multi-host (several processes, e.g. a TPU pod, or `python -m launch.multiprocess`): process 0 alone talks to the
  storage; it asks for the trial and broadcasts its parameters (jax.experimental.multihost_utils), every process
  runs the same trial (and checks that they resolved the same config), pruning decisions are broadcast too, and
  only process 0 reports.

Seeding: trial k draws its parameters with the sampler seeded by (spec seed + k), so a study run by one worker is
reproducible, and concurrent workers never draw with the same seed. Trials that land on parameters already run
(same id) reuse the finished run's result instead of training it again.
"""

import contextlib
import dataclasses
import fcntl
import json
import os
import sys
import time
import warnings
from typing import Any

from common.train import metrics as metrics_lib
from common.train.errors import RunStopped, TrainingDiverged
from launch import api, distributed, hyper, sweep
from launch import config_model as cm
from launch import trials as trials_lib
from launch.errors import UsageError

MAX_RETRIES = 3
GRACE_HEARTBEATS = 4
POLL_SECONDS = 1.0


@dataclasses.dataclass
class Options:
  sweep: str
  gin_files: list[str]
  bindings: list[str]
  search_paths: list[str]
  workdir: str | None
  study: str
  num_trials: int
  storage: str | None = None
  sampler: str = 'tpe'
  heartbeat: int = 30  # seconds between a running trial's heartbeats (database storages)
  argv: list[str] | None = None


def load_search(path: str) -> hyper.Search:
  """Runs the sweep file's `search(h)` with h = launch.hyper."""
  module = sweep.load_file(path)
  fn = getattr(module, 'search', None)
  if fn is None:
    raise UsageError(
      f'{path}: --study needs `def search(h): return h.search({{key: h.float(...), ...}}, metric=..., '
      "direction='minimize')` in the sweep file (h is launch.hyper)."
    )
  try:
    spec = fn(hyper)
  except hyper.SweepError as e:
    raise UsageError(f'{path}: {e}') from None
  if not isinstance(spec, hyper.Search):
    raise UsageError(f'{path}: search(h) must return h.search(...); got {spec!r}.')
  return spec


def _check_options(opts: Options) -> None:
  if not opts.workdir:
    raise UsageError('--study needs --workdir=ROOT: every trial runs in ROOT/<trial id>.')
  if not opts.study:
    raise UsageError('--study=NAME: give the study a name (workers sharing a storage join the study of that name).')
  if opts.num_trials is None or opts.num_trials < 1:
    raise UsageError(f'--num_trials={opts.num_trials}: a study needs --num_trials=N with N >= 1 (trials in all).')
  if opts.sampler not in ('tpe', 'random'):
    raise UsageError(f"--sampler={opts.sampler}: 'tpe' or 'random'.")
  if opts.heartbeat < 1:
    raise UsageError(f'--study_heartbeat={opts.heartbeat}: at least 1 second.')


def representative(spec: hyper.Search) -> list[trials_lib.Trial]:
  """Trials that validate the space against the experiment: every categorical choice once, ranges at both ends."""
  out = []
  widest = max([len(p.choices) for _, p in spec.space if p.kind == 'categorical'] + [2])
  for i in range(widest):
    values = []
    for key, p in spec.space:
      if p.kind == 'categorical':
        values.append((key, p.choices[min(i, len(p.choices) - 1)]))
      else:
        values.append((key, p.low if i == 0 else p.high))
    out.append(trials_lib.make(i, values))
  return out


# ------------------------------------------------------------------------------------------------------------------
# Optuna: storage, sampler, pruner, study.


def storage_url(opts: Options) -> str:
  return opts.storage or f'sqlite:///{os.path.join(os.path.abspath(opts.workdir), "study.db")}'


def open_storage(url: str, heartbeat: int):
  """A database URL -> RDBStorage with heartbeats and retries of stale trials; journal:PATH -> JournalStorage."""
  import optuna

  if url.startswith('journal:'):
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    path = url[len('journal:') :]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return JournalStorage(JournalFileBackend(path))
  if url.startswith('sqlite:///'):
    os.makedirs(os.path.dirname(os.path.abspath(url[len('sqlite:///') :])), exist_ok=True)
  engine = {'connect_args': {'timeout': 60}} if url.startswith('sqlite') else {}
  with warnings.catch_warnings():
    warnings.simplefilter('ignore', optuna.exceptions.ExperimentalWarning)
    try:
      return optuna.storages.RDBStorage(
        url,
        engine_kwargs=engine,
        heartbeat_interval=heartbeat,
        grace_period=GRACE_HEARTBEATS * heartbeat,
        heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES),
      )
    except (ImportError, ValueError) as e:
      raise UsageError(f'--storage={url}: {e}') from None


def make_sampler(kind: str, seed: int):
  import optuna

  if kind == 'random':
    return optuna.samplers.RandomSampler(seed=seed)
  return optuna.samplers.TPESampler(seed=seed)


def make_pruner(spec: hyper.Search):
  import optuna

  if not spec.prune:
    return optuna.pruners.NopPruner()
  return optuna.pruners.MedianPruner(n_startup_trials=spec.startup_trials, n_warmup_steps=spec.warmup_steps)


@contextlib.contextmanager
def _creation_lock(url: str):
  """Serialises creating the storage's schema and the study among workers starting together.

  Two workers that find an empty SQLite file both try to create its tables, and the second fails ('table
  alembic_version already exists'). Workers sharing a SQLite file share its filesystem, so a lock file next to it
  orders them; a server database (several machines) gets retries instead (_create_with_retries)."""
  if not url.startswith('sqlite:///'):
    yield
    return
  with open(url[len('sqlite:///') :] + '.lock', 'a') as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    try:
      yield
    finally:
      fcntl.flock(f, fcntl.LOCK_UN)


class _TrialGate:
  """Makes "is another trial needed?" and the trial's creation one step among workers sharing a SQLite file.

  Without it two workers can both see 3 of 4 trials finished and both start one: 5 trials (seen in CI). The gate
  is the lock file of _creation_lock, taken before the count and released once the trial exists (at the start of
  the objective) or when no trial is started. A server database has no shared lock file: there the race remains
  and a study may run a trial or two beyond --num_trials when workers finish together."""

  def __init__(self, url: str):
    self._file = open(url[len('sqlite:///') :] + '.lock', 'a') if url.startswith('sqlite:///') else None
    self._held = False

  def acquire(self) -> None:
    if self._file is not None and not self._held:
      fcntl.flock(self._file, fcntl.LOCK_EX)
      self._held = True

  def release(self) -> None:
    if self._file is not None and self._held:
      fcntl.flock(self._file, fcntl.LOCK_UN)
      self._held = False

  def close(self) -> None:
    self.release()
    if self._file is not None:
      self._file.close()


def _create_with_retries(create, attempts: int = 5):
  """create() again after a database error raised by a concurrent worker creating the same schema or study."""
  import sqlalchemy.exc

  for attempt in range(attempts):
    try:
      return create()
    except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.IntegrityError):
      if attempt == attempts - 1:
        raise
      time.sleep(0.5 * (attempt + 1))


def open_study(opts: Options, spec: hyper.Search):
  """Creates the study, or joins it when another worker already did (checking it optimises the same way)."""
  import optuna

  optuna.logging.set_verbosity(optuna.logging.WARNING)
  url = storage_url(opts)

  def create():
    return optuna.create_study(
      study_name=opts.study,
      storage=open_storage(url, opts.heartbeat),
      sampler=make_sampler(opts.sampler, spec.seed),
      pruner=make_pruner(spec),
      direction=spec.direction,
      load_if_exists=True,
    )

  if url.startswith('sqlite:///'):
    os.makedirs(os.path.dirname(os.path.abspath(url[len('sqlite:///') :])), exist_ok=True)
  with _creation_lock(url):
    study = _create_with_retries(create)
  if study.direction.name.lower() != spec.direction:
    raise UsageError(
      f'--study={opts.study}: the study in {storage_url(opts)} was created to {study.direction.name.lower()}; '
      f"this sweep file says direction='{spec.direction}'. Use another --study name."
    )
  return study


def suggest(trial, spec: hyper.Search) -> tuple[tuple[str, Any], ...]:
  """The trial's (key, value) pairs from the space. Categorical choices that are not plain numbers or strings
  (tuples, references) are offered to Optuna as their gin text and mapped back."""
  values = []
  for key, p in spec.space:
    if p.kind == 'float':
      values.append((key, trial.suggest_float(key, p.low, p.high, log=p.log, step=p.step)))
    elif p.kind == 'int':
      values.append((key, trial.suggest_int(key, p.low, p.high, log=p.log, step=p.step)))
    else:
      plain = all(c is None or isinstance(c, (bool, int, float, str)) for c in p.choices)
      if plain:
        values.append((key, trial.suggest_categorical(key, list(p.choices))))
      else:
        by_text = {cm.to_gin(c): c for c in p.choices}
        values.append((key, by_text[trial.suggest_categorical(key, list(by_text))]))
  return tuple(values)


def _finished_count(study) -> tuple[int, int, int]:
  """(finished, waiting, running) trials. Finished: completed, pruned, or failed by an exception in the trial
  (user attribute 'error'); a trial failed because its worker died is not finished: its retry is."""
  from optuna.trial import TrialState

  finished = waiting = running = 0
  for t in study.get_trials(deepcopy=False):
    if t.state in (TrialState.COMPLETE, TrialState.PRUNED) or (t.state == TrialState.FAIL and 'error' in t.user_attrs):
      finished += 1
    elif t.state == TrialState.WAITING:
      waiting += 1
    elif t.state == TrialState.RUNNING:
      running += 1
  return finished, waiting, running


def should_run_another(study, num_trials: int, heartbeat: bool, gate: _TrialGate | None = None) -> bool:
  """Whether this worker should ask for a trial now. With heartbeats it waits while the last trials run elsewhere:
  one of their workers may die, and its retry (WAITING) must still be run. On True the gate stays held: the caller
  releases it once its trial exists."""
  import optuna

  while True:
    if heartbeat:
      with warnings.catch_warnings():
        warnings.simplefilter('ignore', optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    if gate is not None:
      gate.acquire()
    finished, waiting, running = _finished_count(study)
    if finished < num_trials and (waiting or finished + running < num_trials):
      return True
    if gate is not None:
      gate.release()
    if finished >= num_trials:
      return False
    if not heartbeat:
      return False  # a dead worker's trial would never be retried: leave the rest to the running workers
    time.sleep(POLL_SECONDS)


# ------------------------------------------------------------------------------------------------------------------
# One trial, on every process.


def _broadcast_json(obj):
  """Process 0's JSON-able `obj` on every process (obj is ignored elsewhere)."""
  import jax
  import numpy as np
  from jax.experimental import multihost_utils

  chief = jax.process_index() == 0
  data = json.dumps(obj).encode() if chief else b''
  size = int(multihost_utils.broadcast_one_to_all(np.int32(len(data))))
  buf = np.frombuffer(data, np.uint8) if chief else np.zeros(size, np.uint8)
  return json.loads(bytes(np.asarray(multihost_utils.broadcast_one_to_all(buf))).decode())


def pruning_observer(spec: hyper.Search, trial, *, multi_process: bool):
  """fn(step, split, values) for metrics.add_observer: reports the metric to `trial` (process 0; None elsewhere)
  and raises RunStopped when the pruner says so (the decision broadcast to every process)."""

  def observe(step: int, split: str, values: dict) -> None:
    if split != spec.split or spec.metric not in values:
      return
    value = values[spec.metric]
    prune = False
    if trial is not None:
      trial.report(value, step)
      prune = trial.should_prune()
    if multi_process and spec.prune:
      prune = bool(_broadcast_json(prune))
    if prune:
      raise RunStopped(f'pruned at step {step}: {spec.split} {spec.metric}={value:.4g}')

  return observe


def run_trial(opts: Options, spec: hyper.Search, msg: dict, trial=None, *, multi_process: bool = False) -> dict:
  """Runs the trial `msg` ({'number', 'id', 'bindings'}) in ROOT/<id> on this process; returns its final metrics.

  `trial` is Optuna's trial on process 0 (None elsewhere). Raises RunStopped when pruned.
  """
  workdir = trials_lib.workdir(opts.workdir, msg['id'])
  chief = trials_lib.is_chief()
  before = trials_lib.read(workdir) or {}
  record = {
    'id': msg['id'],
    'bindings': msg['bindings'],
    'sweep_file': opts.sweep,
    'study': opts.study,
    'optuna_trial': msg['number'],
    'attempts': [*before.get('attempts', []), msg['number']],
    'status': trials_lib.RUNNING,
  }
  if chief:
    trials_lib.write(workdir, record)
  print(f'study {opts.study} trial {msg["number"]} ({msg["id"]}): {", ".join(msg["bindings"])}', flush=True)
  bindings = list(opts.bindings) + msg['bindings']
  if multi_process:
    distributed.agree_on_config(api.prepare(opts.gin_files, bindings, opts.search_paths).resolved_json)
  observer = pruning_observer(spec, trial, multi_process=multi_process)
  metrics_lib.add_observer(observer, every_process=multi_process)
  start = time.time()
  try:
    final = api.execute(
      opts.gin_files,
      bindings,
      workdir=workdir,
      search_paths=opts.search_paths,
      argv=opts.argv,
      swept=spec.keys,
    )
  except RunStopped as e:
    if chief:
      trials_lib.write(workdir, {**record, 'status': trials_lib.PRUNED, 'reason': e.reason})
    raise
  except BaseException as e:
    if chief:
      trials_lib.write(workdir, {**record, 'status': trials_lib.FAILED, 'error': f'{type(e).__name__}: {e}'})
    raise
  finally:
    metrics_lib.remove_observer(observer)
  final = trials_lib.numeric(final)
  if chief:
    trials_lib.write(workdir, {**record, 'status': trials_lib.DONE, 'final': final, 'seconds': time.time() - start})
  return final


# ------------------------------------------------------------------------------------------------------------------
# The workers.


def main(opts: Options, *, multi_process: bool = False) -> int:
  """The --study branch of the launcher: this process (or process group) works on the study until N trials
  finished."""
  _check_options(opts)
  spec = load_search(opts.sweep)
  sweep.check(representative(spec), spec.keys, opts.sweep, opts.gin_files, opts.bindings, opts.search_paths)
  if not trials_lib.is_chief():
    return _follow(opts, spec)
  study, heartbeat = open_study(opts, spec), not storage_url(opts).startswith('journal:')
  print(f'study {opts.study}: {storage_url(opts)}, {opts.num_trials} trials, sampler {opts.sampler}', flush=True)
  if not heartbeat:
    print('study: the journal storage has no heartbeat; a dead worker leaves its trial running.', flush=True)
  ran, gate = 0, _TrialGate(storage_url(opts))

  def objective(trial):
    gate.release()  # the trial exists now: other workers may count it
    return _objective(opts, spec, trial, multi_process=multi_process)

  try:
    while should_run_another(study, opts.num_trials, heartbeat, gate):
      try:
        study.optimize(objective, n_trials=1, catch=(TrainingDiverged,))
      finally:
        gate.release()
      ran += 1
  finally:
    gate.close()
    if multi_process:
      _broadcast_json({'run': False})
  _summarise(study, opts, ran)
  return 0


def _objective(opts: Options, spec: hyper.Search, trial, *, multi_process: bool) -> float:
  import optuna

  # Seeded per trial number: reproducible with one worker, never the same draws in two workers.
  trial.study.sampler = make_sampler(opts.sampler, spec.seed + trial.number)
  t = trials_lib.make(trial.number, suggest(trial, spec))
  msg = {'run': True, 'number': trial.number, 'id': t.id, 'bindings': t.bindings}
  done = trials_lib.read(trials_lib.workdir(opts.workdir, t)) or {}
  reused = done.get('status') == trials_lib.DONE and spec.metric in done.get('final', {})
  if multi_process:
    _broadcast_json({**msg, 'reused': reused})
  trial.set_user_attr('id', t.id)
  if reused:
    print(f'study {opts.study} trial {trial.number} ({t.id}): already run; reusing its result', flush=True)
    return float(done['final'][spec.metric])
  try:
    final = run_trial(opts, spec, msg, trial, multi_process=multi_process)
  except RunStopped as e:
    print(f'study {opts.study} trial {trial.number} ({t.id}): {e.reason}', flush=True)
    raise optuna.TrialPruned(e.reason) from None
  except Exception as e:
    trial.set_user_attr('error', f'{type(e).__name__}: {e}'[:500])
    raise
  if spec.metric not in final:
    message = (
      f"the objective metric {spec.metric!r} is not among the trial's final metrics ({', '.join(sorted(final))}); "
      f'fix metric= in {opts.sweep}.'
    )
    trial.set_user_attr('error', message)
    raise UsageError(message)
  print(f'study {opts.study} trial {trial.number} ({t.id}): {spec.metric}={final[spec.metric]:.6g}', flush=True)
  return float(final[spec.metric])


def _follow(opts: Options, spec: hyper.Search) -> int:
  """A process other than 0: runs whatever trial process 0 broadcasts, until it says stop."""
  while True:
    msg = _broadcast_json(None)
    if not msg.get('run'):
      return 0
    if msg.get('reused'):
      continue
    try:
      run_trial(opts, spec, msg, None, multi_process=True)
    except (RunStopped, TrainingDiverged):
      pass  # process 0 saw the same and goes on


def _summarise(study, opts: Options, ran: int) -> None:
  finished, waiting, running = _finished_count(study)
  print(f'study {opts.study}: this worker ran {ran} trial(s); {finished} finished in the study', flush=True)
  try:
    best = study.best_trial
  except ValueError:
    return
  workdir = trials_lib.workdir(opts.workdir, best.user_attrs.get('id', '?'))
  print(f'best: trial {best.number} value {best.value:.6g} {json.dumps(best.params, default=str)}  {workdir}')
  print(f'table: launch report {opts.workdir}', file=sys.stderr)
