"""Fuzz table of malformed inputs (issue 16): each ends in exit status 2, names its culprit, prints no traceback and
leaves nothing behind.

The whole `launch` command runs in-process (`launch.main.run(argv)`, flags parsed afresh each time; stdout and
stderr captured at the file-descriptor level), so a case costs no interpreter start. Cases that need a process
boundary (a SIGKILLed run's lock, a checkpoint save failing under a file-size limit) are in
tests/foundation/test_errors.py.

To add a case, append a `Case` to CASES: `args` are the launch arguments after `launch` (`{tmp}` is the test's
temporary directory, other braces are doubled; `--workdir={tmp}/w` is added unless the case passes its own),
`files` are written under `{tmp}` first (str or bytes), `setup(tmp)` prepares anything else (and may return a
cleanup callable), and `needles` must all appear in stderr: the file:line, flag or parameter at fault, and the fix
where there is one. A `--gin.` binding that reaches gin should name its configurable as `module.Name.param`: gin
matches short names against every configurable registered in this process, which earlier cases have filled.
"""

import dataclasses
import os
import pathlib
import shutil
import subprocess
import sys
from typing import Callable

import gin
import pytest

HEADER = 'from __gin__ import dynamic_registration\n'
DIGITS = 'configs/baselines/digits_mlp.gin'


@dataclasses.dataclass(frozen=True)
class Case:
  id: str
  args: tuple[str, ...]
  needles: tuple[str, ...]
  files: tuple[tuple[str, str | bytes], ...] = ()
  setup: Callable[[pathlib.Path], Callable[[], None] | None] | None = None
  status: int = 2


def gin_file(*lines: str, include: str = DIGITS, imports: str = 'from common.models import mlp') -> str:
  head = HEADER + (imports + '\n' if imports else '') + (f"include '{include}'\n" if include else '')
  return head + '\n'.join(lines) + '\n'


# --- workdir set-ups ------------------------------------------------------------------------------------------------


def _file_as_workdir(tmp):
  (tmp / 'w').write_text('not a directory\n')


def _file_in_workdir_path(tmp):
  (tmp / 'afile').write_text('x\n')


def _read_only(path: pathlib.Path) -> Callable[[], None]:
  """Makes `path` unwritable for real, also as root (whom permission bits do not stop); returns the undo."""
  if os.geteuid() != 0:
    path.chmod(0o555)
    return lambda: path.chmod(0o755)
  if shutil.which('chattr') and subprocess.run(['chattr', '+i', str(path)], capture_output=True).returncode == 0:
    return lambda: subprocess.run(['chattr', '-i', str(path)], check=True)
  mount = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', str(path)], capture_output=True)
  if mount.returncode == 0:
    return lambda: subprocess.run(['umount', str(path)], check=True)
  pytest.skip('cannot make a directory read-only here (root without chattr or mount)')


def _read_only_workdir(tmp):
  (tmp / 'w').mkdir()
  return _read_only(tmp / 'w')


def _read_only_parent(tmp):
  (tmp / 'ro').mkdir()
  return _read_only(tmp / 'ro')


def _other_configs_run(tmp):
  """A workdir holding a finished run's record of another config (what a real run writes first)."""
  from launch import api, artifacts

  prepared = api.prepare([DIGITS], ['LEARNING_RATE = 0.5'])
  artifacts.write_start(
    str(tmp / 'w'), resolved_gin=prepared.resolved_gin, resolved_json=prepared.resolved_json, argv=['x'], env={}
  )


def _live_run(tmp):
  """A live run holding the workdir's lock (flock on another open file: the same conflict as another process)."""
  from launch import workdir_lock

  (tmp / 'w').mkdir()
  lock = workdir_lock.acquire(str(tmp / 'w'), ['launch', '--gin_file=first.gin', '--workdir=w'])
  return lock.release


def _include_cycle(tmp):
  (tmp / 'a.gin').write_text(HEADER + f"include '{tmp / 'b.gin'}'\n")
  (tmp / 'b.gin').write_text(HEADER + f"include '{tmp / 'a.gin'}'\n")


# --- the table ------------------------------------------------------------------------------------------------------

_MLP = ('--gin_file=' + DIGITS,)
_KAN = ('--gin_file=configs/kan_fitting/kan.gin', '--gin_file=configs/base/cpu_debug.gin')
_QUAD = ('--gin_file=configs/quadratic_networks/expressivity_gaussian_mixture.gin',)
_NEED = ('--gin_file=configs/need_is_all_you_need/concept_shift.gin', '--gin_file=configs/base/cpu_debug.gin')
_RESERVOIR = ('--gin_file=configs/adaptive_reservoir/mackey_glass.gin', '--gin_file=configs/base/cpu_debug.gin')
_CTM = ('--gin_file=configs/ctm_parity/ctm_t4.gin', '--gin_file=configs/base/cpu_debug.gin')
_DENDRITES = ('--gin_file=configs/active_dendrites/ad_kwinners_10.gin', '--gin_file=configs/base/cpu_debug.gin')
_ELM = ('--gin_file=configs/elm_neuron/adding_elm.gin', '--gin_file=configs/base/cpu_debug.gin')
_EWC = ('--gin_file=configs/hlop/ewc.gin', '--gin_file=configs/base/cpu_debug.gin')
_SPIKING = ('--gin_file=configs/hlop/spiking_finetune.gin', '--gin_file=configs/base/cpu_debug.gin')

CASES = [
  # Gin files: syntax, encodings, empty files, directories, includes, names.
  Case(
    'unclosed_paren',
    ('--gin_file={tmp}/bad.gin',),
    ('bad.gin', 'line 4', "'(' is never closed"),
    files=(('bad.gin', gin_file('mlp.MLP.hidden = (64,', '  ')),),
  ),
  Case(
    'syntax_error',
    ('--gin_file={tmp}/bad.gin',),
    ('bad.gin:4', 'syntax error'),
    files=(('bad.gin', gin_file('mlp.MLP.hidden = = 3')),),
  ),
  Case(
    'not_utf8',
    ('--gin_file={tmp}/bad.gin',),
    ('bad.gin:4', 'not UTF-8'),
    files=(('bad.gin', gin_file("mlp.MLP.act = 'r\xe9lu'").encode('latin-1')),),
  ),
  Case('binary_file', ('--gin_file={tmp}/bad.gin',), ('bad.gin', 'NUL'), files=(('bad.gin', b'\x00\x01\x02gin'),)),
  Case('empty_file', ('--gin_file={tmp}/empty.gin',), ('empty.gin', 'empty'), files=(('empty.gin', ''),)),
  Case(
    'blank_file',
    ('--gin_file=' + DIGITS, '--gin_file={tmp}/blank.gin'),
    ('blank.gin', 'empty'),
    files=(('blank.gin', '\n  \n'),),
  ),
  Case(
    'directory_as_gin_file',
    ('--gin_file=configs/baselines',),
    ('configs/baselines', 'is a directory', 'digits_mlp.gin'),
  ),
  Case('missing_gin_file', ('--gin_file=configs/baselines/nope.gin',), ('nope.gin', 'not found', 'Searched')),
  Case('empty_gin_file_flag', ('--gin_file=',), ('--gin_file= is empty',)),
  Case('include_cycle', ('--gin_file={tmp}/a.gin',), ('include cycle', 'a.gin', 'b.gin'), setup=_include_cycle),
  Case(
    'include_missing',
    ('--gin_file={tmp}/bad.gin',),
    ('bad.gin:3', 'include failed', 'nope.gin'),
    files=(('bad.gin', gin_file(include='configs/nope.gin')),),
  ),
  Case(
    'import_missing_module',
    ('--gin_file={tmp}/bad.gin',),
    ('bad.gin:2', "'common.nosuch'"),
    files=(('bad.gin', gin_file(imports='from common.nosuch import thing')),),
  ),
  Case(
    'unknown_bare_configurable',
    ('--gin_file={tmp}/bad.gin',),
    ('bad.gin:4', "'NoSuchThing'", 'module.name'),
    files=(('bad.gin', gin_file('NoSuchThing.value = 3')),),
  ),
  Case('unknown_configurable', _MLP + ('--gin.mlp.MLPP.hidden=(3,)',), ("'MLPP'", "Did you mean 'MLP'")),
  Case(
    'unknown_parameter',
    ('--gin_file={tmp}/bad.gin',),
    ('bad.gin:4', "'hiden'", "Did you mean 'hidden'"),
    files=(('bad.gin', gin_file('mlp.MLP.hiden = (3,)')),),
  ),
  Case(
    'unknown_macro',
    ('--gin_file={tmp}/bad.gin',),
    ('bad.gin:4', '%NUM_STEP ', "'NUM_STEPS'"),
    files=(('bad.gin', gin_file('loop.train.num_steps = %NUM_STEP', imports='from common.train import loop')),),
  ),
  Case(
    'required_unset',
    ('--gin_file={tmp}/noseed.gin',),
    ('SEED', 'REQUIRED', 'configs/base/trainer.gin'),
    files=(('noseed.gin', gin_file(include='configs/base/trainer.gin', imports='')),),
  ),
  # Wrong types, every family (checked against annotations before gin runs anything).
  Case('type_str_for_int', _MLP + ("--gin.train.num_steps='many'",), ('train.num_steps', "'many'", 'annotated int')),
  Case('type_bool_for_int', _MLP + ('--gin.NUM_STEPS=True',), ('NUM_STEPS', 'annotated int', 'not a number')),
  Case('type_float_for_int', _MLP + ('--gin.train.num_steps=1e3',), ('train.num_steps', 'write 1000')),
  Case('type_tuple_element', _MLP + ("--gin.MLP.hidden=(64, 'x')",), ('MLP.hidden', 'Sequence[int]')),
  Case(
    'type_missing_parentheses',
    _EWC + ('--gin.trainer.train.learner=@regularizers.EWC',),
    ('train.learner', 'EWC()', 'with parentheses'),
  ),
  Case('type_kan', _KAN + ("--gin.GRID='five'",), ('GRID', 'KAN.grid_size', 'annotated int')),
  Case('type_quadratic', _QUAD + ('--gin.QuadraticMLP.hidden=64',), ('QuadraticMLP.hidden', 'Sequence[int]')),
  Case(
    'type_homeostatic',
    _NEED + ("--gin.NeedRegulation.decision_interval='10'",),
    ('decision_interval', 'remove the quotes'),
  ),
  Case('type_ctm', _CTM + ('--gin.CTM.neuron_select_type=3',), ('CTM.neuron_select_type', 'annotated str')),
  Case(
    'type_dendritic',
    _DENDRITES + ("--gin.DendriticMLP.use_dendrites='yes'",),
    ('DendriticMLP.use_dendrites', 'annotated bool'),
  ),
  Case('type_continual', _EWC + ('--gin.EWC.strength=@regularizers.SI()',), ('EWC.strength', 'annotated float')),
  Case('type_spiking', _SPIKING + ("--gin.SpikingMLP.tau='fast'",), ('SpikingMLP.tau', 'annotated float')),
  # Out-of-range values, every family (found by the dry-run build, before the workdir exists).
  Case('range_mlp_width', _MLP + ('--gin.mlp.MLP.hidden=(-3,)',), ('mlp.MLP', 'hidden = (-3,)', '--traceback')),
  Case('range_batch_size', _MLP + ('--gin.BATCH_SIZE=100000',), ('BATCH_SIZE', 'batch_size=100000')),
  Case('range_optimizer_name', _MLP + ('--gin.create_optimizer.name="adamx"',), ("name='adamx'", 'choose one of')),
  Case('range_kan', _KAN + ('--gin.GRID=0',), ('GRID', 'grid_size')),
  Case('range_quadratic', _QUAD + ("--gin.QuadraticMLP.form='cubic'",), ("form='cubic'", 'choose one of')),
  Case('range_homeostatic_need', _NEED + ('--gin.NeedRegulation.num_classes=1',), ('num_classes=1', 'at least 2')),
  Case(
    'range_homeostatic_reservoir',
    _RESERVOIR + ('--gin.ReservoirConfig.connectivity=1.5',),
    ('connectivity=1.5', '(0, 1]'),
  ),
  Case('range_ctm', _CTM + ('--gin.CTM.memory_length=0',), ('memory_length=0', 'at least 1')),
  Case('range_dendritic', _DENDRITES + ('--gin.DendriticMLP.percent_on=1.5',), ('percent_on=1.5', '(0, 1]')),
  Case('range_dendritic_elm', _ELM + ('--gin.ELM.num_memory=0',), ('ELM', 'num_memory')),
  Case('range_continual', _EWC + ('--gin.NUM_TASKS=0',), ('NUM_TASKS', 'num_tasks=0')),
  Case('range_spiking', _SPIKING + ('--gin.SpikingMLP.tau=-2.0',), ('tau=-2.0', 'must be positive')),
  Case(
    'range_xla_options',
    _MLP + ("--gin.loop.train.xla_options={{'xla_no_such_option': True}}", '--workdir={tmp}/w'),
    ('xla_no_such_option', 'refused by XLA'),
    setup=lambda tmp: (tmp / 'w').mkdir(),  # an existing, empty workdir stays exactly as it was
  ),
  # Data that are not prepared: a ConfigurationError from load_tfds, never a download.
  Case(
    'unprepared_dataset',
    _MLP + ("--gin.load_tfds.name='mnist'", "--gin.load_tfds.data_dir='{tmp}/no_data'"),
    ('mnist', 'not prepared', 'tfds build mnist'),
  ),
  # Flags and --gin.X=Y values.
  Case('unknown_flag', _MLP + ('--nosuchflag',), ("'nosuchflag'",)),
  Case('misspelled_flag', _MLP + ('--dryrun',), ("'dryrun'", 'dry_run')),
  Case('bad_flag_value', _MLP + ('--sweep_workers=two',), ('sweep_workers', 'two')),
  Case('bad_enum_flag', _MLP + ('--platform=quantum',), ('platform', 'quantum')),
  Case(
    'sweep_file_missing', _MLP + ('--sweep={tmp}/nope.py', '--list_trials'), ('--sweep=', 'nope.py', 'no such file')
  ),
  Case(
    'sweep_file_syntax_error',
    _MLP + ('--sweep={tmp}/bad_sweep.py', '--list_trials'),
    ('bad_sweep.py', 'SyntaxError'),
    files=(('bad_sweep.py', 'def sweep(h)\n  return h\n'),),
  ),
  Case('trial_without_sweep', _MLP + ('--trial=3',), ('--trial', 'need --sweep=FILE')),
  Case('positional_argument', _MLP + ('extra',), ('positional', 'extra')),
  Case('no_gin_file', (), ('no --gin_file',)),
  Case('no_workdir', _MLP + ('--workdir=',), ('--workdir is required',)),
  Case('gin_shorthand_without_value', _MLP + ('--gin.train.num_steps',), ('--gin.train.num_steps', 'needs a value')),
  Case('gin_shorthand_without_name', _MLP + ('--gin.=3',), ('--gin.=3', 'needs a name')),
  Case('gin_value_unquoted_string', _MLP + ('--gin.create_optimizer.name=adam',), ("'adam'", 'Strings need quotes')),
  Case('gin_value_unclosed', _MLP + ('--gin.MLP.hidden=(64,',), ('MLP.hidden=(64,', 'never closed')),
  Case(
    'gin_name_ambiguous',
    _EWC + ('--gin_file=' + DIGITS, '--gin.train.seed=3'),
    ("'train' is ambiguous", 'trainer.train', 'loop.train'),
  ),
  # Workdirs.
  Case('workdir_is_a_file', _MLP + ('--workdir={tmp}/w',), ('w is a file',), setup=_file_as_workdir),
  Case('workdir_under_a_file', _MLP + ('--workdir={tmp}/afile/w',), ('afile is a file',), setup=_file_in_workdir_path),
  Case('workdir_read_only', _MLP + ('--workdir={tmp}/w',), ('cannot write', '/w'), setup=_read_only_workdir),
  Case('workdir_parent_read_only', _MLP + ('--workdir={tmp}/ro/w',), ('cannot write', '/ro'), setup=_read_only_parent),
  Case(
    'workdir_of_another_config',
    _MLP + ('--workdir={tmp}/w',),
    ('LEARNING_RATE', '0.5 -> 0.001', '--allow_config_change'),
    setup=_other_configs_run,
  ),
  Case(
    'workdir_live_run',
    _MLP + ('--workdir={tmp}/w',),
    ('in use by a live run', f'pid {os.getpid()}', 'first.gin'),
    setup=_live_run,
  ),
]


def _snapshot(root: pathlib.Path) -> dict[str, tuple]:
  out = {}
  for dirpath, dirnames, filenames in os.walk(root):
    for name in dirnames + filenames:
      path = os.path.join(dirpath, name)
      st = os.lstat(path)
      out[os.path.relpath(path, root)] = (st.st_mode, st.st_size, st.st_mtime_ns)
  return out


def run_launch(args: list[str], capfd, monkeypatch) -> tuple[int, str]:
  """The whole `launch` command in this process; returns (exit status, stdout + stderr)."""
  from launch import main

  argv = ['launch', *args]
  monkeypatch.setattr(sys, 'argv', argv)
  try:
    main.run(argv)
    status = 0
  except SystemExit as e:
    status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
  finally:
    gin.clear_config(clear_constants=True)
  out, err = capfd.readouterr()
  return status, out, err


@pytest.mark.parametrize('case', CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path, capfd, monkeypatch):
  for name, content in case.files:
    path = tmp_path / name
    path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
  undo = case.setup(tmp_path) if case.setup else None
  try:
    args = [a.format(tmp=tmp_path) for a in case.args]
    if args and not any(a.startswith('--workdir') for a in args):
      args.append(f'--workdir={tmp_path}/w')
    before = _snapshot(tmp_path)
    capfd.readouterr()
    status, out, err = run_launch(args, capfd, monkeypatch)
    after = _snapshot(tmp_path)
  finally:
    if undo:
      undo()
  assert status == case.status, (status, err[-3000:])
  assert 'Traceback' not in out + err, err[-3000:]
  for needle in case.needles:
    assert needle.format(tmp=tmp_path) in err, (needle, err[-3000:])
  assert after == before, f'left behind or changed: {sorted(set(after.items()) ^ set(before.items()))}'


def test_table_covers_every_family_and_at_least_30_inputs():
  ids = [c.id for c in CASES]
  assert len(ids) == len(set(ids)) and len(ids) >= 30
  text = ' '.join(' '.join(c.args) for c in CASES)
  for family in (
    'kan',
    'quadratic',
    'need_is_all',
    'adaptive_reservoir',
    'ctm',
    'active_dendrites',
    'elm_neuron',
    'hlop/ewc',
    'spiking',
  ):
    assert family in text, family
  for kind in ('type_', 'range_', 'workdir_', 'gin_', 'flag'):
    assert any(kind in i for i in ids), kind
