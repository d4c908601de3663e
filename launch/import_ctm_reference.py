"""Imports a reference CTM checkpoint as a finished run of a gin experiment (issue #17).

  python -m launch.import_ctm_reference --gin_file=CONFIG.gin [--gin.X=Y ...] --state_dict=SD.npz --workdir=W
  launch --gin_file=CONFIG.gin [--gin.X=Y ...] --workdir=W     # restores step NUM_STEPS: evaluates, trains nothing

SD.npz is the reference's state_dict (`python -m common.ctm.dump_reference checkpoint.pt SD.npz` in a venv with
torch). The experiment must run `loop.train` with a common.ctm CTM of the reference run's hyperparameters: its
model, task and optimizer are built through gin exactly as `launch` builds them, the state_dict is mapped onto the
model's variables (common/ctm/convert.py; a mismatch is listed entry by entry, exit status 2), and the result is saved
with common.train.checkpoint.Checkpointer as the train state at step NUM_STEPS (fresh optimizer state). W must not
hold checkpoints yet. Nothing is written under W/config, so the `launch` command above starts in W as in a new run
directory, finds the checkpoint and only evaluates.
"""

import argparse
import sys

from launch import api, gin_args
from launch.errors import EXIT_USAGE, UsageError

ENTRY = 'common.train.loop.train'


def build(gin_files, bindings):
  """(model, task, optimizer transformation, num_steps) of the experiment, built through gin as `launch` builds them."""
  import gin

  from common.ctm.ctm import CTM
  from launch import gin_setup

  prepared = api.prepare(list(gin_files), list(bindings))
  if prepared.entry_name != ENTRY:
    raise UsageError(f'ENTRY_POINT is {prepared.entry_name}; importing a reference CTM needs @loop.train.')
  gin_setup.parse(prepared.gin_files, prepared.bindings, prepared.search_paths)
  kw = gin.get_bindings(ENTRY)
  model, num_steps = kw['model'], int(kw['num_steps'])
  if not isinstance(model, CTM):
    raise UsageError(f'loop.train.model is {type(model).__name__}; the converter maps reference CTMs onto ctm.CTM.')
  return model, kw['task'], kw['optimizer'](num_steps), num_steps


def import_reference(gin_files, bindings, state_dict_path: str, workdir: str) -> dict:
  """Converts the state_dict for the experiment's model and saves it as its finished run; returns a summary."""
  from common.ctm import convert
  from common.train import state as state_lib

  model, task, tx, num_steps = build(gin_files, bindings)
  variables = convert.reference_variables(convert.load_state_dict(state_dict_path), model, task.init_inputs())
  state = convert.save_finished_run(workdir, variables, tx, num_steps)
  return {'step': num_steps, 'num_params': state_lib.count_params(state['params'])}


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--gin_file', action='append', default=[], required=True)
  parser.add_argument('--gin_bindings', action='append', default=[])
  parser.add_argument('--state_dict', required=True, help='npz of the reference state_dict')
  parser.add_argument('--workdir', required=True)
  args = parser.parse_args(gin_args.rewrite_gin_shorthand(list(sys.argv[1:] if argv is None else argv)))
  from common.train.errors import ConfigurationError

  try:
    summary = import_reference(args.gin_file, args.gin_bindings, args.state_dict, args.workdir)
  except (UsageError, ConfigurationError) as e:
    print(f'error: {e}', file=sys.stderr)
    return EXIT_USAGE
  files = ' '.join(f'--gin_file={f}' for f in args.gin_file)
  extra = ' '.join(f"'--gin_bindings={b}'" for b in args.gin_bindings)
  print(f'saved step {summary["step"]} ({summary["num_params"]:,} parameters) under {args.workdir}/checkpoints')
  print(f'evaluate it with: launch {files} {extra} --workdir={args.workdir}'.replace('  ', ' '))
  return 0


if __name__ == '__main__':
  sys.exit(main())
