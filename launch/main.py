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
A configuration problem exits with status 2 and a message without a traceback; a diverged run with status 3.
"""

import json
import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # TensorFlow (used by TFDS only) is chatty at import

from absl import app, flags, logging

from launch import artifacts, gin_args, validate
from launch import config_model as cm
from launch import platform as platform_lib
from launch.errors import EXIT_DIVERGED, EXIT_USAGE, UsageError

FLAGS = flags.FLAGS
flags.DEFINE_multi_string('gin_file', [], 'Gin file(s) to parse, in order; paths relative to --gin_search_path.')
flags.DEFINE_multi_string('gin_bindings', [], 'Extra gin bindings (also written --gin.X=Y).')
flags.DEFINE_multi_string('gin_search_path', [], 'Where gin files and includes are looked up (default: the repo root).')
flags.DEFINE_string('workdir', None, 'Run directory: config record, metrics, TensorBoard, checkpoints, plots.')
flags.DEFINE_enum('platform', 'auto', ['auto', 'cpu', 'gpu', 'tpu'], 'Accelerator platform.')
flags.DEFINE_bool('dry_run', False, 'Parse, validate, build the model with jax.eval_shape, print the parameter table.')
flags.DEFINE_bool('print_config', False, 'Print the resolved config with provenance and exit.')
flags.DEFINE_bool('allow_config_change', False, 'Resume in a workdir whose saved config differs from this one.')


def main(argv: list[str], full_argv: list[str]) -> int:
  if FLAGS['verbosity'].using_default_value:
    logging.set_verbosity(logging.WARNING)  # orbax and TFDS log every step at INFO; -v 0 brings them back
  if len(argv) > 1:
    raise UsageError(f'unexpected positional arguments {argv[1:]}; flags are written --name=value.')
  if not FLAGS.gin_file:
    raise UsageError('no --gin_file given, e.g. --gin_file=configs/baselines/digits_mlp.gin')
  search_paths = FLAGS.gin_search_path or [gin_args.repo_root()]

  # 2. Platform before JAX is touched (gin imports modules that import JAX).
  platform_lib.select(FLAGS.platform)

  # 3. Config as data: provenance, validation. Nothing is written before this passes.
  model = cm.load(FLAGS.gin_file, FLAGS.gin_bindings, search_paths)
  validate.check_bindings(model)
  validate.check_required(model)
  entry_name = validate.entry_point(model)
  resolved_gin, resolved_json = cm.render_gin(model), cm.to_json_dict(model)
  if FLAGS.print_config:
    print(resolved_gin, end='')
    return 0
  if not FLAGS.dry_run and not FLAGS.workdir:
    raise UsageError('--workdir is required to train (or pass --dry_run).')

  # 4. Gin proper.
  from launch import gin_setup

  entry = gin_setup.parse(
    [gin_args.find_gin_file(f, search_paths) for f in FLAGS.gin_file], FLAGS.gin_bindings, search_paths
  )

  # 5. The run's record.
  workdir = os.path.abspath(FLAGS.workdir) if FLAGS.workdir else None
  import jax

  is_chief = jax.process_index() == 0
  if workdir and not FLAGS.dry_run:
    artifacts.check_workdir(workdir, resolved_json, FLAGS.allow_config_change)
    if is_chief:
      env = artifacts.environment(validate.seed(model), platform_lib.describe())
      artifacts.write_start(workdir, resolved_gin=resolved_gin, resolved_json=resolved_json, argv=full_argv, env=env)
  print(f'launch: {entry_name} on {jax.default_backend()} ({jax.device_count()} devices)', flush=True)

  # 6. Run.
  final = entry(workdir=workdir or '', dry_run=FLAGS.dry_run)

  # 7. Finish.
  if workdir and not FLAGS.dry_run and is_chief:
    artifacts.write_end(workdir, operative_gin=gin_setup.operative_config())
  print('final metrics: ' + json.dumps(final, default=float, sort_keys=True))
  if workdir and not FLAGS.dry_run:
    print(f'workdir: {workdir}')
  return 0


def run() -> None:
  """Console-script entry point (`launch ...` and `python -m launch ...`)."""
  full_argv = list(sys.argv)
  try:
    argv = gin_args.rewrite_gin_shorthand(full_argv)
  except UsageError as e:
    _fail(e, EXIT_USAGE)
  if len(argv) > 1 and argv[1] == 'diff':
    from launch import diff

    sys.exit(diff.main(argv[2:]))
  app.run(lambda a: _guarded(a, full_argv), argv=argv)


def _guarded(argv, full_argv) -> None:
  from common.train.errors import ConfigurationError, TrainingDiverged

  try:
    sys.exit(main(argv, full_argv))
  except UsageError as e:
    _fail(e, EXIT_USAGE)
  except ConfigurationError as e:
    _fail(e, EXIT_USAGE)
  except TrainingDiverged as e:
    _fail(e, EXIT_DIVERGED, 'training diverged')


def _fail(error: Exception, status: int, what: str = 'configuration error') -> None:
  print(f'launch: {what}: {error}', file=sys.stderr, flush=True)
  sys.exit(status)
