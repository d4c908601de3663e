"""Validation by building: the entry point runs once with dry_run=True before the workdir exists.

Every entry point's dry run builds what the config describes (the model under jax.eval_shape, the task and its
data, the optimizer) and writes nothing, so a bad value anywhere in that graph surfaces here, before a single
file is written. The dry run gets a throwaway directory as its workdir (removed afterwards) and its output is
captured, so a successful check is silent.

Whatever the build raises becomes a UsageError (exit 2) that names the binding at fault when it can:
- gin notes each configurable the exception passed through ("In call to configurable 'X'");
- the innermost traceback frame that runs code of a configured class or function names the culprit even when
  the error comes from deep inside JAX (a layer width of -3 fails in a broadcast, inside the model's __call__);
- a ConfigurationError names its parameter (`param=value`), which leads to the file:line that bound it.
A non-ConfigurationError is still reported as a configuration problem (it was raised by building this config and
nothing was written), with a hint to rerun with --traceback in case the values are right and the code is wrong.
"""

import contextlib
import dataclasses
import inspect
import io
import re
import shutil
import tempfile
import types

from common.data import tfds_sources
from common.train.errors import ConfigurationError
from launch import config_model as cm
from launch.errors import UsageError

_GIN_NOTE = re.compile(r"\n?\s*In call to configurable '([^']+)' \([^\n]*\)")
_PARAM = re.compile(r'(?<![\w.])([A-Za-z_][\w.]*)=')


def build(entry, model: cm.ConfigModel, *, capture: bool = True, check_data: bool = False) -> dict:
  """Calls `entry(workdir=<temporary>, dry_run=True)` and returns its result; raises UsageError on any failure.

  check_data: also call check_prepared() on every TFDS dataset reader the build constructed (a dry run reads no
  data, so this is where a dataset that is not prepared stops a real run before it writes anything).
  """
  scratch = tempfile.mkdtemp(prefix='launch-dry-run-')
  sink = io.StringIO()
  quiet = (contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink)) if capture else ()
  try:
    with contextlib.ExitStack() as stack:
      for ctx in quiet:
        stack.enter_context(ctx)
      with tfds_sources.record_readers() as readers:
        result = entry(workdir=scratch, dry_run=True)
      if check_data:
        for reader in readers:
          reader.check_prepared()
      return result
  except UsageError:
    raise
  except Exception as e:  # noqa: BLE001 - anything building this config raises is reported against the config
    raise UsageError(explain(e, model)) from e
  finally:
    shutil.rmtree(scratch, ignore_errors=True)


@dataclasses.dataclass
class _Culprit:
  selector: str  # full name of the configured class or function
  bindings: list[cm.Binding]


def explain(error: Exception, model: cm.ConfigModel) -> str:
  """A message naming the file:line (or the configurable) at fault, the error, and a fix or where to look."""
  message, noted = _strip_gin_notes(str(error))
  culprit = _culprit(error, model, noted)
  resolved = model.resolved()
  located = _binding_named_in(message, culprit, noted, resolved)
  where = f'in {_short(culprit.selector)}' if culprit else 'while building the experiment'
  if isinstance(error, ConfigurationError):
    if located:
      return f'{_where_set(located, resolved)}: {message}\n  (found by a dry run of the config, {where})'
    return f'{message}\n  (found by a dry run of the config, {where}){_bound_at(culprit, resolved)}'
  first = (message.strip().splitlines() or [''])[0][:400]
  head = f'{_where_set(located, resolved)}: ' if located else ''
  return (
    f'{head}building the experiment failed {where}: {type(error).__name__}: {first}'
    f'{_bound_at(culprit, resolved)}\n'
    '  Check the values (a size, a shape or a type the code cannot take). If they look right, this is a bug: '
    'rerun with --traceback to see where.'
  )


def _strip_gin_notes(text: str) -> tuple[str, list[str]]:
  """The message without gin's "In call to configurable" lines, and those configurables, innermost first."""
  noted = _GIN_NOTE.findall(text)
  return _GIN_NOTE.sub('', text).strip(), noted


def _short(selector: str) -> str:
  parts = selector.split('.')
  return '.'.join(parts[-2:]) if len(parts) > 1 else selector


def _configured_objects(model: cm.ConfigModel) -> dict[str, object]:
  names = {b.selector for b in model.bindings if not b.is_macro}
  for b in model.bindings:
    names |= {r.name.rpartition('/')[2] for r in cm._refs(b.value)}
  out = {}
  for name in names:
    obj = cm.import_object(name)
    if obj is not None and (inspect.isclass(obj) or inspect.isfunction(obj)):
      out[name] = obj
  return out


def _culprit(error: Exception, model: cm.ConfigModel, noted: list[str]) -> _Culprit | None:
  """The configured class or function whose code raised: the innermost traceback frame that runs its code."""
  objects = _configured_objects(model)
  codes = {inspect.unwrap(o).__code__: n for n, o in objects.items() if inspect.isfunction(o)}
  classes = [(n, o) for n, o in objects.items() if inspect.isclass(o)]
  frames = []
  tb = error.__traceback__
  while tb is not None:
    frames.append(tb.tb_frame)
    tb = tb.tb_next
  for frame in reversed(frames):
    if frame.f_code in codes:
      return _culprit_of(codes[frame.f_code], model)
    owner = frame.f_locals.get('self', frame.f_locals.get('cls'))
    for name, cls in classes:
      if isinstance(owner, cls) or owner is cls:
        if _defined_in_class(frame.f_code, cls):
          return _culprit_of(name, model)
  for short in noted:  # gin's note names at least the outermost configurable called
    for name in objects:
      if name == short or name.endswith('.' + short):
        return _culprit_of(name, model)
  return None


def _defined_in_class(code: types.CodeType, cls) -> bool:
  for klass in cls.__mro__:
    if klass.__module__ in ('builtins',) or klass.__module__.startswith(('flax.', 'jax.')):
      continue
    for value in vars(klass).values():
      fn = getattr(value, 'fget', value)
      fn = getattr(fn, '__func__', fn)
      fn = inspect.unwrap(fn) if callable(fn) else fn
      if getattr(fn, '__code__', None) is code:
        return True
  return False


def _culprit_of(selector: str, model: cm.ConfigModel) -> _Culprit:
  resolved = model.resolved()
  return _Culprit(selector, [b for b in resolved.values() if not b.is_macro and b.selector == selector])


def _binding_named_in(message: str, culprit: _Culprit | None, noted: list[str], resolved) -> cm.Binding | None:
  """The binding of a parameter the message names as `param=...`, on the culprit or a noted configurable first."""
  params = [p.rpartition('.')[2] for p in _PARAM.findall(message)]
  if not params:
    return None
  candidates = list(culprit.bindings) if culprit else []
  for short in noted:
    candidates += [b for b in resolved.values() if not b.is_macro and b.selector.endswith('.' + short)]
  for param in params:
    for b in candidates:
      if b.param == param:
        return b
  for param in params:  # anywhere, if exactly one binding has that parameter name
    matches = [b for b in resolved.values() if not b.is_macro and b.param == param]
    if len(matches) == 1:
      return matches[0]
  return None


def _where_set(b: cm.Binding, resolved) -> str:
  if isinstance(b.value, cm.Macro) and b.value.name in resolved:
    macro = resolved[b.value.name]
    return f'{macro.location.describe()} ({b.value.name}, used by {b.key} at {b.location.describe()})'
  return b.location.describe()


def _bound_at(culprit: _Culprit | None, resolved, limit: int = 5) -> str:
  """The culprit's bindings, the likeliest first: the command line, then the files given, then their includes."""
  if not culprit or not culprit.bindings:
    return ''
  ranked = sorted(culprit.bindings, key=lambda b: (b.location.file != cm.CLI, len(b.location.chain)))
  shown = [f'{b.param} = {cm.to_gin(b.value)} ({b.location.describe()})' for b in ranked[:limit]]
  more = f'; and {len(ranked) - limit} more' if len(ranked) > limit else ''
  hints = [
    f'\n  {b.param} = {cm.to_gin(b.value)} passes the class itself; write {cm.to_gin(b.value)}() to pass an instance.'
    for b in ranked
    if isinstance(b.value, cm.Ref) and not b.value.evaluate and inspect.isclass(cm.import_object(b.value.name))
  ]
  return f'\n  its values: {"; ".join(shown)}{more}' + ''.join(hints)
