"""Checks that run before anything is written, each failing with the file, line and value at fault and a fix.

- every module a gin file imports can be imported (the file:line of the import, and the import's own error);
- every configurable and reference names something importable, every parameter exists (closest names
  suggested);
- no REQUIRED macro or parameter is left unset (the message names the file that declares it);
- ENTRY_POINT is set and every required argument of the entry point is bound.
"""

import difflib
import importlib

from launch import config_model as cm
from launch.errors import UsageError

LAUNCHER_ARGS = ('workdir', 'dry_run')


def _close(name: str, options) -> str:
  close = difflib.get_close_matches(name, list(options), n=3, cutoff=0.5)
  return f' Did you mean {", ".join(repr(c) for c in close)}?' if close else ''


def check_imports(model: cm.ConfigModel) -> None:
  """Every `import`/`from ... import` in the gin files names an importable module."""
  for module, where in model.import_sites:
    try:
      importlib.import_module(module)
    except ImportError as e:
      found = _importable_prefix(module)
      raise UsageError(
        f'{where}: cannot import {module!r}: {e}.{f" ({found!r} exists; check the rest of the name.)" if found else ""}'
        ' Gin files import modules of this repo, e.g. `from common.train import loop`.'
      ) from None
    except Exception as e:  # noqa: BLE001 - the module itself fails at import: name the module and the error
      raise UsageError(f'{where}: importing {module!r} failed: {type(e).__name__}: {e}') from None


def _importable_prefix(module: str) -> str:
  parts = module.split('.')
  for i in range(len(parts) - 1, 0, -1):
    try:
      importlib.import_module('.'.join(parts[:i]))
      return '.'.join(parts[:i])
    except Exception:  # noqa: BLE001
      continue
  return ''


def _check_target(name: str, where: cm.Location, imports: dict[str, str]):
  obj = cm.import_object(name)
  if obj is not None:
    return obj
  head = name.split('.')
  module_name, attr = '.'.join(head[:-1]), head[-1]
  if not module_name:
    if name in imports:
      raise UsageError(
        f'{where.describe()}: {name!r} is a module; bind a parameter of one of its functions or classes, e.g. '
        f'`{name}.SomeClass.param = ...`.'
      )
    aliases = sorted(k for k in imports if '.' not in k)
    raise UsageError(
      f'{where.describe()}: unknown configurable {name!r}. Gin names a configurable as module.name, with the module '
      f'imported at the top of the gin file (e.g. `from common.models import mlp`, then `mlp.MLP.hidden = ...`). '
      f'Modules imported here: {aliases}.'
    )
  try:
    module = importlib.import_module(module_name)
  except Exception:  # noqa: BLE001 - not importable for any reason: the same advice applies
    aliases = sorted(k for k in imports if '.' not in k)
    raise UsageError(
      f'{where.describe()}: unknown configurable {name!r}: no import in the gin file provides {head[0]!r}. Add an '
      f'import such as `from common.train import loop` to the file (imported names there: {aliases}).'
    ) from None
  public = [
    n
    for n in dir(module)
    if not n.startswith('_')
    and callable(getattr(module, n))
    and getattr(getattr(module, n), '__module__', None) == module.__name__
  ]
  raise UsageError(
    f'{where.describe()}: {module_name} has no configurable {attr!r}.{_close(attr, public)} Valid: {public}'
  )


def check_bindings(model: cm.ConfigModel) -> None:
  defined_macros = {b.selector for b in model.bindings if b.is_macro}
  for b in model.bindings:
    for ref in cm._refs(b.value):
      if not ref.name.startswith('gin.'):
        _check_target(ref.name.rpartition('/')[2], b.location, model.imports)
    for macro in _macros(b.value):
      if macro.name not in defined_macros and macro.name != 'gin.REQUIRED':
        raise UsageError(
          f'{b.location.describe()}: macro %{macro.name} is used but never defined.'
          f'{_close(macro.name, defined_macros)} Define it (`{macro.name} = ...`) or fix the name.'
        )
    if b.is_macro:
      continue
    obj = _check_target(b.selector, b.location, model.imports)
    sig = cm.signature_params(obj)
    if sig is None:
      continue
    params, has_kwargs = sig
    if b.param not in params and not has_kwargs:
      raise UsageError(
        f'{b.location.describe()}: {b.written} has no parameter {b.param!r}.{_close(b.param, params)}\n'
        f'  Valid parameters of {b.selector}: {", ".join(params) or "(none)"}'
      )


def _macros(value):
  if isinstance(value, cm.Macro):
    yield value
  elif isinstance(value, (tuple, list)):
    for v in value:
      yield from _macros(v)
  elif isinstance(value, dict):
    for v in value.values():
      yield from _macros(v)


def check_required(model: cm.ConfigModel) -> None:
  resolved = model.resolved()
  missing = [b for b in resolved.values() if b.value == cm.Macro('gin.REQUIRED')]
  if missing:
    lines = [
      f'  {b.key}: REQUIRED, declared at {b.location}; set it in your experiment gin file '
      f'(e.g. `{b.written if b.is_macro else b.key} = ...`) or pass --gin.{b.key}=...'
      for b in missing
    ]
    raise UsageError('REQUIRED values are unset:\n' + '\n'.join(lines))


def entry_point(model: cm.ConfigModel) -> str:
  """The full name of the entry point, after checking its required arguments are all bound."""
  resolved = model.resolved()
  if 'ENTRY_POINT' not in resolved:
    raise UsageError(
      'ENTRY_POINT is not set: include configs/base/trainer.gin in your experiment (it sets '
      '`ENTRY_POINT = @loop.train`) or set `ENTRY_POINT = @module.function` yourself.'
    )
  value = _follow_macros(resolved['ENTRY_POINT'].value, resolved)
  if not isinstance(value, cm.Ref) or value.evaluate:
    raise UsageError(
      f'{resolved["ENTRY_POINT"].location}: ENTRY_POINT must be a function reference without parentheses, '
      f'like @loop.train; got {cm.to_gin(value)}.'
    )
  obj = cm.import_object(value.name)
  sig = cm.signature_params(obj)
  if sig is not None:
    params, _ = sig
    for name, p in params.items():
      if p.default is p.empty and name not in LAUNCHER_ARGS:
        bound = _bound_value(resolved, value.name, name)
        if bound is None:
          raise UsageError(
            f'{value.name}.{name} is required and unset. Bind it in your experiment gin file '
            f'(`{value.name.split(".")[-2]}.{value.name.split(".")[-1]}.{name} = ...`) or pass '
            f'--gin.{value.name.split(".")[-1]}.{name}=...'
          )
  return value.name


def _bound_value(resolved, selector, param):
  b = resolved.get(f'{selector}.{param}')
  return None if b is None else b.value


def _follow_macros(value, resolved, depth=0):
  while isinstance(value, cm.Macro) and value.name in resolved and depth < 20:
    value, depth = resolved[value.name].value, depth + 1
  return value


def seed(model: cm.ConfigModel):
  """The run's seed (the SEED macro), or None if the experiment does not use one."""
  b = model.resolved().get('SEED')
  return None if b is None else _follow_macros(b.value, model.resolved())
