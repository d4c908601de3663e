"""The launcher's flow as a function, for tests, sweeps and notebooks (`launch.main` wraps it in flags).

  execute(gin_files, bindings, workdir=..., dry_run=...) -> final metrics

Steps: read the config as data and validate it (nothing is written if this fails), parse it into gin, write
the run's record, call the entry point, write the operative config.
"""

import dataclasses
import os
import shlex
import shutil

from common.train.errors import ConfigurationError
from launch import artifacts, gin_args, validate
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
  model = cm.load(gin_files, bindings, search_paths)
  validate.check_bindings(model)
  validate.check_required(model)
  entry_name = validate.entry_point(model)
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
) -> dict:
  """Validates, parses, records and runs one experiment; returns the entry point's final metrics."""
  prepared = prepare(list(gin_files), list(bindings), search_paths)
  if not dry_run and not workdir:
    raise UsageError('--workdir is required to train (or pass --dry_run).')

  from launch import gin_setup

  entry = gin_setup.parse(prepared.gin_files, prepared.bindings, prepared.search_paths)
  workdir = os.path.abspath(workdir) if workdir else None
  import jax

  is_chief = jax.process_index() == 0
  created = bool(workdir) and not os.path.exists(workdir)
  if workdir and not dry_run:
    artifacts.check_workdir(workdir, prepared.resolved_json, allow_config_change)
    if is_chief:
      env = artifacts.environment(validate.seed(prepared.model), platform_lib.describe())
      argv = argv or ['launch', *[f'--gin_file={f}' for f in gin_files], *[f'--gin_bindings={b}' for b in bindings]]
      artifacts.write_start(
        workdir, resolved_gin=prepared.resolved_gin, resolved_json=prepared.resolved_json, argv=argv, env=env
      )
  print(f'launch: {prepared.entry_name} on {jax.default_backend()} ({jax.device_count()} devices)', flush=True)

  try:
    final = entry(workdir=workdir or '', dry_run=dry_run)
  except (ConfigurationError, UsageError):
    # A bad value found while building the model or task: leave no half-made workdir behind (only one this
    # invocation created and that holds no checkpoint, so no earlier result is ever removed).
    if created and is_chief and not os.path.exists(os.path.join(workdir, 'checkpoints')):
      shutil.rmtree(workdir, ignore_errors=True)
    raise

  if workdir and not dry_run and is_chief:
    artifacts.write_end(workdir, operative_gin=gin_setup.operative_config())
  return final


def command_line(gin_files: list[str], bindings: list[str], workdir: str | None = None) -> str:
  """The `launch` command that reproduces a run (for READMEs and sweep trial listings)."""
  args = ['launch', *[f'--gin_file={f}' for f in gin_files], *[f'--gin.{b}' for b in bindings]]
  if workdir:
    args.append(f'--workdir={workdir}')
  return shlex.join(args)
