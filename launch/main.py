"""The `launch` command: runs any experiment described by gin files.

  launch --gin_file=configs/baselines/digits_mlp.gin --workdir=/tmp/run1 [--gin.train.num_steps=500]

The flow is fixed and ordered; each step is one small function:
  1. flags (the --gin.X=Y shorthand becomes --gin_bindings)
  2. platform selection, before JAX starts
  3. read the gin files as data (with provenance) and validate them; nothing is written if this fails
  4. parse into gin and build the entry point
  5. write the run's config record (refusing a workdir that holds a different experiment)
  6. run the entry point (workdir=, dry_run=)
  7. write the operative config, print the final metrics and the workdir
Exit statuses (launch/errors.py): a problem with the configuration or the flags exits 2 with a message naming the
file:line (or the flag) and a fix, never a traceback, and nothing written; an exception after the run started
prints one line, keeps the traceback in <workdir>/error.txt (--traceback prints it) and exits 1; a diverged run
exits 3.
"""

import json
import logging as py_logging
import os
import re
import sys
import tempfile
import traceback

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # TensorFlow (used by TFDS only) is chatty at import

from absl import app, flags, logging

from launch import api, distributed, gin_args
from launch import platform as platform_lib
from launch.errors import EXIT_DIVERGED, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE, UsageError

FLAGS = flags.FLAGS
flags.DEFINE_multi_string('gin_file', [], 'Gin file(s) to parse, in order; paths relative to --gin_search_path.')
flags.DEFINE_multi_string('gin_bindings', [], 'Extra gin bindings (also written --gin.X=Y).')
flags.DEFINE_multi_string('gin_search_path', [], 'Where gin files and includes are looked up (default: the repo root).')
flags.DEFINE_string('workdir', None, 'Run directory: config record, metrics, TensorBoard, checkpoints, plots.')
flags.DEFINE_enum('platform', 'auto', ['auto', 'cpu', 'gpu', 'tpu'], 'Accelerator platform.')
flags.DEFINE_integer(
  'cpu_devices',
  None,
  'Expose the CPU as N devices (default: 1, or what XLA_FLAGS sets). With --seeds / --vmap_trials the members are '
  'split over them and run on N cores in parallel; see launch/platform.py for the entry points it fails on.',
)
flags.DEFINE_bool('dry_run', False, 'Parse, validate, build the model with jax.eval_shape, print the parameter table.')
flags.DEFINE_bool('print_config', False, 'Print the resolved config with provenance and exit.')
flags.DEFINE_bool('allow_config_change', False, 'Resume in a workdir whose saved config differs from this one.')
flags.DEFINE_bool('traceback', False, 'On an error, also print the Python traceback (kept in W/error.txt anyway).')
# Sweeps (launch/sweep.py, launch/hyper.py).
flags.DEFINE_string('sweep', None, 'Sweep file (python, `def sweep(h)`); trials run in <workdir>/<trial id>.')
flags.DEFINE_string('trial', None, 'With --sweep: run only this trial (index or id), e.g. a Slurm array index.')
flags.DEFINE_bool('list_trials', False, 'With --sweep: validate and print the trials (swept keys only).')
flags.DEFINE_integer('sweep_workers', 1, 'With --sweep and no --trial: local worker processes running trials.')
flags.DEFINE_bool('vmap_trials', False, 'With --sweep: run trials differing only in numbers as one vmapped program.')
flags.DEFINE_string('sweep_metric', '', 'With --sweep: the final metric plotted against each axis (default accuracy).')
# Adaptive search on Optuna (launch/study.py): `def search(h)` in the --sweep file.
flags.DEFINE_string('study', None, 'With --sweep: join (or create) this Optuna study and run its trials in --workdir.')
flags.DEFINE_string('storage', None, 'With --study: sqlite:///F.db (default ROOT/study.db), a database URL, journal:F.')
flags.DEFINE_integer('num_trials', None, 'With --study: the trials the study runs in all, over every worker.')
flags.DEFINE_enum('sampler', 'tpe', ['tpe', 'random'], 'With --study: the Optuna sampler (seeded by the sweep file).')
flags.DEFINE_integer('study_heartbeat', 30, 'With --study: seconds between heartbeats of a running trial.')
flags.DEFINE_string(
  'seeds', None, 'Train these seeds (e.g. 0,1,2,3,4) as one vmapped program; seed s writes <workdir>/seed_<s>.'
)
# Several processes (launch/distributed.py; `python -m launch.multiprocess` sets these on one machine).
flags.DEFINE_enum(
  'distributed', 'auto', ['auto', 'on', 'off'], 'jax.distributed: auto = TPU pods or --num_processes>1.'
)
flags.DEFINE_string('coordinator_address', None, 'HOST:PORT of process 0 (or $JAX_COORDINATOR_ADDRESS).')
flags.DEFINE_integer('num_processes', None, 'Number of processes in the run (or $JAX_NUM_PROCESSES).')
flags.DEFINE_integer('process_id', None, 'This process, 0..num_processes-1 (or $JAX_PROCESS_ID).')
flags.DEFINE_integer('distributed_timeout', 300, 'Seconds to wait for the coordinator and every process.')


def main(argv: list[str], full_argv: list[str]) -> int:
  if not any(a.startswith(('-v', '--v')) for a in argv_all_flags()):
    logging.set_verbosity(logging.WARNING)  # orbax and TFDS log every step at INFO; -v 0 brings them back
    py_logging.getLogger().setLevel(py_logging.WARNING)
  if len(argv) > 1:
    raise UsageError(f'unexpected positional arguments {argv[1:]}; flags are written --name=value.')
  # 2. Platform before JAX is touched (gin imports modules that import JAX).
  platform_lib.select(FLAGS.platform)
  multi_process = not FLAGS.print_config and _init_distributed()  # also before anything touches a device
  platform_lib.set_cpu_devices(FLAGS.cpu_devices)
  if FLAGS.study:
    return _study(full_argv, multi_process)
  if FLAGS.sweep or FLAGS.trial is not None or FLAGS.list_trials:
    return _sweep(full_argv, multi_process)
  if FLAGS.print_config:
    prepared = api.prepare(FLAGS.gin_file, FLAGS.gin_bindings, FLAGS.gin_search_path)
    print(prepared.resolved_gin, end='')
    return 0
  if multi_process:  # every process must have resolved the same config
    distributed.agree_on_config(api.prepare(FLAGS.gin_file, FLAGS.gin_bindings, FLAGS.gin_search_path).resolved_json)
  if FLAGS.seeds is not None:
    return _seeds(full_argv)
  # 3-7. Validate (nothing written on failure), parse into gin, record, run, finish.
  final = api.execute(
    FLAGS.gin_file,
    FLAGS.gin_bindings,
    workdir=FLAGS.workdir,
    dry_run=FLAGS.dry_run,
    search_paths=FLAGS.gin_search_path,
    allow_config_change=FLAGS.allow_config_change,
    argv=full_argv,
  )
  print('final metrics: ' + json.dumps(final, default=float, sort_keys=True))
  if FLAGS.workdir and not FLAGS.dry_run:
    print(f'workdir: {os.path.abspath(FLAGS.workdir)}')
  return 0


def _seeds(full_argv) -> int:
  from launch import vmapped

  seeds = vmapped.parse_seeds(FLAGS.seeds)
  if FLAGS.dry_run:
    raise UsageError('--seeds trains; for a dry run leave --seeds out (every seed builds the same shapes).')
  if not FLAGS.workdir:
    raise UsageError('--seeds needs --workdir=ROOT (seed s runs in ROOT/seed_<s>).')
  finals = vmapped.execute_seeds(
    FLAGS.gin_file, FLAGS.gin_bindings, seeds, FLAGS.workdir, search_paths=FLAGS.gin_search_path,
    argv=full_argv, allow_config_change=FLAGS.allow_config_change,
  )  # fmt: skip
  for s, final in zip(seeds, finals):
    print(f'final metrics (seed {s}): ' + json.dumps(final, default=float, sort_keys=True))
  print(f'workdirs: {vmapped.seed_workdir(FLAGS.workdir, seeds[0])} ... (one per seed)')
  return 0


def _init_distributed() -> bool:
  return distributed.initialize(
    distributed.settings(
      mode=FLAGS.distributed,
      coordinator_address=FLAGS.coordinator_address,
      num_processes=FLAGS.num_processes,
      process_id=FLAGS.process_id,
      timeout_s=FLAGS.distributed_timeout,
      platform=FLAGS.platform,
    )
  )


def _study(full_argv, multi_process: bool) -> int:
  from launch import study

  if not FLAGS.sweep:
    raise UsageError('--study needs --sweep=FILE with `def search(h)` (the search space).')
  opts = study.Options(
    sweep=FLAGS.sweep,
    gin_files=FLAGS.gin_file,
    bindings=FLAGS.gin_bindings,
    search_paths=FLAGS.gin_search_path,
    workdir=FLAGS.workdir,
    study=FLAGS.study,
    num_trials=FLAGS.num_trials,
    storage=FLAGS.storage,
    sampler=FLAGS.sampler,
    heartbeat=FLAGS.study_heartbeat,
    argv=full_argv,
  )
  return study.main(opts, multi_process=multi_process)


def _sweep(full_argv, multi_process: bool) -> int:
  from launch import sweep

  if not FLAGS.sweep:
    raise UsageError('--trial and --list_trials need --sweep=FILE.')
  opts = sweep.Options(
    sweep=FLAGS.sweep,
    gin_files=FLAGS.gin_file,
    bindings=FLAGS.gin_bindings,
    search_paths=FLAGS.gin_search_path,
    workdir=FLAGS.workdir,
    trial=FLAGS.trial,
    list_trials=FLAGS.list_trials,
    workers=FLAGS.sweep_workers,
    metric=FLAGS.sweep_metric,
    dry_run=FLAGS.dry_run,
    passthrough=(
      f'--platform={FLAGS.platform}',
      *([f'--cpu_devices={FLAGS.cpu_devices}'] if FLAGS.cpu_devices else []),
    ),
    argv=full_argv,
    multi_process=multi_process,
    vmap=FLAGS.vmap_trials,
  )
  return sweep.main(opts)


def argv_all_flags() -> list[str]:
  return [a for a in sys.argv[1:] if a.startswith('-')]


def run(argv: list[str] | None = None) -> None:
  """Console-script entry point (`launch ...` and `python -m launch ...`); exits with the run's status.

  `argv` (default sys.argv) lets tests drive the whole command in-process.
  """
  full_argv = list(sys.argv if argv is None else argv)
  try:
    argv = gin_args.rewrite_gin_shorthand(full_argv)
  except UsageError as e:
    _fail(e, EXIT_USAGE)
  if len(argv) > 1 and argv[1] == 'diff':
    from launch import diff

    sys.exit(diff.main(argv[2:]))
  if len(argv) > 1 and argv[1] == 'report':
    from launch import report

    sys.exit(report.main(argv[2:]))
  app.run(lambda a: _guarded(a, full_argv), argv=argv, flags_parser=_parse_flags)


def _parse_flags(argv: list[str]) -> list[str]:
  """absl's parsing, with a bad flag as exit status 2 (absl's own parser exits 1) and no state from a previous parse."""
  FLAGS.unparse_flags()  # in-process callers (tests) parse many command lines; multi-flags would accumulate
  try:
    return FLAGS(argv)
  except flags.Error as e:
    _fail(UsageError(f'{e}. `launch --helpfull` lists every flag.'), EXIT_USAGE, 'bad flag')


def _guarded(argv, full_argv) -> None:
  from common.train.errors import ConfigurationError, TrainingDiverged

  try:
    status = main(argv, full_argv)
  except (UsageError, ConfigurationError) as e:
    _fail(e, EXIT_USAGE)
  except TrainingDiverged as e:
    _fail(e, EXIT_DIVERGED, 'training diverged')
  except KeyboardInterrupt:
    stopped = UsageError('stopped by the user (Ctrl-C); run the same command again to resume.')
    _fail(stopped, EXIT_INTERRUPTED, 'interrupted')
  except Exception as e:  # noqa: BLE001 - the one place every other failure becomes one line and exit 1
    _crash(e)
  sys.exit(status)


def _fail(error: BaseException, status: int, what: str = 'configuration error') -> None:
  _print_traceback_if_asked(error)
  # gin appends "In call to configurable 'X' (<function ...>)" to exceptions raised inside a configurable.
  message = re.sub(r"\n?\s*In call to configurable '[^']+' \([^\n]*\)", '', str(error))
  print(f'launch: {what}: {message}', file=sys.stderr, flush=True)
  sys.exit(status)


def _crash(error: Exception) -> None:
  """An exception after the run started: one line on stderr, the traceback in a file (and printed if asked)."""
  path = getattr(error, 'error_file', None) or _traceback_file(error)
  _print_traceback_if_asked(error)
  first = (str(error).strip().splitlines() or [''])[0][:300]
  kept = f'traceback in {path}' if path else 'the traceback could not be saved'
  hint = '' if _traceback_flag() else '; --traceback prints it'
  print(f'launch: run failed: {type(error).__name__}: {first} ({kept}{hint})', file=sys.stderr, flush=True)
  sys.exit(EXIT_FAILURE)


def _traceback_file(error: Exception) -> str | None:
  """Where the traceback goes when no workdir took it (the run failed before its workdir existed)."""
  try:
    fd, path = tempfile.mkstemp(prefix='launch-error-', suffix='.txt')
    with os.fdopen(fd, 'w') as f:
      f.write(''.join(traceback.format_exception(error)))
    return path
  except OSError:
    return None


def _traceback_flag() -> bool:
  try:
    return bool(FLAGS.traceback)
  except flags.Error:  # the flags were never parsed (a bad flag)
    return False


def _print_traceback_if_asked(error: BaseException) -> None:
  if _traceback_flag():
    traceback.print_exception(error, file=sys.stderr)
