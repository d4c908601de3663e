"""The launcher's flow as a function, for tests, sweeps and notebooks (`launch.main` wraps it in flags).

  execute(gin_files, bindings, workdir=..., dry_run=...) -> final metrics

Steps: read the config as data and validate it (names, REQUIRED values, types), parse it into gin, build it
once with a dry run of the entry point, check the workdir (nothing is written if any of this fails); then create
and lock the workdir, write the run's record, call the entry point, write the operative config.
"""

import dataclasses
import os
import shlex

from common.train.errors import ConfigurationError, RunStopped
from launch import artifacts, build_check, gin_args, typecheck, validate, workdir_guard, workdir_lock
from launch import config_model as cm
from launch import platform as platform_lib
from launch.errors import UsageError


@dataclasses.dataclass
class Prepared:
  """A validated experiment, before gin is parsed: what --print_config, sweeps and diff need."""

  model: cm.ConfigModel
  entry_name: str
  gin_files: list[str]
  bindings: list[str]
  search_paths: list[str]

  @property
  def resolved_gin(self) -> str:
    return cm.render_gin(self.model)

  @property
  def resolved_json(self) -> dict:
    return cm.to_json_dict(self.model)


def prepare(gin_files: list[str], bindings: list[str], search_paths: list[str] | None = None) -> Prepared:
  """Reads and validates the config; raises UsageError naming the file, line and fix on any problem."""
  if not gin_files:
    raise UsageError('no --gin_file given, e.g. --gin_file=configs/baselines/digits_mlp.gin')
  search_paths = list(search_paths or [gin_args.repo_root()])
  for f in gin_files:
    if not f or not f.strip():
      raise UsageError('--gin_file= is empty; pass a path, e.g. --gin_file=configs/baselines/digits_mlp.gin')
  model = cm.load(gin_files, bindings, search_paths)
  validate.check_imports(model)
  validate.check_bindings(model)
  validate.check_required(model)
  entry_name = validate.entry_point(model)
  typecheck.check(model)
  files = [gin_args.find_gin_file(f, search_paths) for f in gin_files]
  return Prepared(model, entry_name, files, list(bindings), search_paths)


def execute(
  gin_files: list[str],
  bindings: list[str] = (),
  *,
  workdir: str | None,
  dry_run: bool = False,
  search_paths: list[str] | None = None,
  allow_config_change: bool = False,
  argv: list[str] | None = None,
  swept=(),
) -> dict:
  """Validates, parses, builds, records and runs one experiment; returns the entry point's final metrics.

  `swept`: the keys a sweep or study varies in this run (TensorBoard HParams, even when their values are not scalars).

  Nothing is written until the config has been read, type-checked, parsed by gin and built once by a dry run of
  the entry point (launch/build_check.py), and the workdir has been checked; every problem found so far is a
  UsageError (exit 2). Then the workdir is created and locked (one run per workdir) and the run starts: a
  ConfigurationError from then on still undoes the start (workdir_guard.undo); any other exception is recorded in
  <workdir>/error.txt (its path in the exception's `error_file`) and re-raised.
  """
  prepared = prepare(list(gin_files), list(bindings), search_paths)
  if not dry_run and not workdir:
    raise UsageError('--workdir is required to train (or pass --dry_run).')

  from launch import gin_setup

  entry = gin_setup.parse(prepared.gin_files, prepared.bindings, prepared.search_paths)
  backend = backend_name()
  if dry_run:
    print(f'launch: {prepared.entry_name} on {backend} (dry run)', flush=True)
    return build_check.build(entry, prepared.model, capture=False)

  workdir = os.path.abspath(workdir)
  chief = _process_index() == 0
  check_workdir(workdir, prepared, allow_config_change, chief)
  build_check.build(entry, prepared.model, capture=True, check_data=True)  # data prepared? (dry runs read none)
  argv = argv or ['launch', *[f'--gin_file={f}' for f in gin_files], *[f'--gin_bindings={b}' for b in bindings]]
  print(f'launch: {prepared.entry_name} on {backend}', flush=True)
  return _run(entry, prepared, workdir, chief=chief, allow_config_change=allow_config_change, argv=argv, swept=swept)


def check_workdir(workdir: str, prepared: Prepared, allow_config_change: bool, chief: bool) -> None:
  """Everything about the workdir that can be checked without writing to it (UsageError on failure)."""
  if chief:
    workdir_guard.check_usable(workdir)
    if os.path.isdir(workdir):
      workdir_lock.probe(workdir)
  artifacts.check_workdir(workdir, prepared.resolved_json, allow_config_change)


def _run(entry, prepared: Prepared, workdir: str, *, chief: bool, allow_config_change: bool, argv, swept=()) -> dict:
  """Creates and locks the workdir (process 0 only), records the config, runs the entry point."""
  return run_members(entry, [(prepared, workdir)], chief=chief, allow_config_change=allow_config_change, argv=argv,
                     swept=swept)[0]  # fmt: skip


def run_members(
  entry, members: list[tuple[Prepared, str]], *, chief: bool, allow_config_change: bool, argv, swept=(), values=()
) -> list:
  """Runs the entry point once for one or more (prepared config, workdir) members; returns one final per member.

  Every member's workdir is created and locked (process 0 only) and gets its own config record; with several
  members the entry point runs inside common.train.engine.members (launch/vmapped.py checked that they differ only
  in what a vmapped run may vary), so they train as one program. `values`: per-member entry-point arguments.
  """
  from common.train import engine, hparams
  from launch import gin_setup

  starts, locks, started = [], [], False
  workdirs = [w for _, w in members]
  try:
    for prepared, workdir in members:
      if chief:
        starts.append(workdir_guard.begin(workdir))
        locks.append(workdir_lock.acquire(workdir, argv))
        artifacts.check_workdir(workdir, prepared.resolved_json, allow_config_change)  # again, now that we hold it
        env = artifacts.environment(validate.seed(prepared.model), platform_lib.describe())
        artifacts.write_start(
          workdir, resolved_gin=prepared.resolved_gin, resolved_json=prepared.resolved_json, argv=argv, env=env
        )
        hparams.write_session_start(workdir, prepared.resolved_json['bindings'], swept)
    started = True
    if len(members) == 1:
      finals = [entry(workdir=workdirs[0], dry_run=False)]
    else:
      seeds = [validate.seed(p.model) for p, _ in members]
      with engine.members(seeds, workdirs, values):
        finals = engine.as_list(entry(workdir=workdirs[0], dry_run=False))
    if chief:
      operative = gin_setup.operative_config()
      for (prepared, workdir), final in zip(members, finals):
        note = '' if len(members) == 1 else (
          f'# One member of a vmapped multi-seed run led by {workdirs[0]}; gin parsed that member\'s config, so its\n'
          f'# SEED (and any per-member optimizer numbers) below are the lead\'s: this run\'s own values are in\n'
          '# resolved.gin.\n'
        )  # fmt: skip
        artifacts.write_end(workdir, operative_gin=note + operative)
        hparams.write_session_end(workdir, prepared.resolved_json['bindings'], swept, final)
        workdir_guard.clear_failure(workdir)
    return finals
  except RunStopped:  # an observer stopped the run (a study pruned it): not a failure, and nothing to undo
    if chief:
      for prepared, workdir in members:
        hparams.write_session_end(workdir, prepared.resolved_json['bindings'], swept, status='failure')
    raise
  except Exception as e:
    if not started or isinstance(e, (ConfigurationError, UsageError)):
      # A failed start, or a bad value found only once the run began: leave the workdirs as they were.
      for start in starts:
        workdir_guard.undo(start)
    else:
      for workdir in workdirs:
        e.error_file = workdir_guard.record_failure(workdir, e, _process_index())
    raise
  finally:
    for lock in locks:
      lock.release()


def _process_index() -> int:
  import jax

  return jax.process_index()


def backend_name() -> str:
  """The JAX backend and device count, or a UsageError when the chosen platform cannot start."""
  import jax

  try:
    return f'{jax.default_backend()} ({jax.device_count()} devices)'
  except RuntimeError as e:
    raise UsageError(
      f'JAX could not start a backend: {str(e).splitlines()[0]}. Check --platform (gpu needs jax[cuda12], tpu '
      'needs jax[tpu]; see README.md) or use --platform=cpu.'
    ) from None


def command_line(gin_files: list[str], bindings: list[str], workdir: str | None = None) -> str:
  """The `launch` command that reproduces a run (for READMEs and sweep trial listings)."""
  args = ['launch', *[f'--gin_file={f}' for f in gin_files], *[f'--gin.{b}' for b in bindings]]
  if workdir:
    args.append(f'--workdir={workdir}')
  return shlex.join(args)
