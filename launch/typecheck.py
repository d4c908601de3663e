"""Every bound value checked against the annotation of the parameter it binds, before gin runs anything.

A value is one of three kinds (`kind_of`): a Value, the Python literal from the gin file (`3`, `'adam'`,
`(64, 64)`, `None`); an Instance, for `@name()` (of the class `name`, or of the return annotation of the function
`name`); or an Object, for `@name` (the function or class object itself). `accepts(annotation, kind)`
understands int, float, bool, str, None, tuples and sequences (with their element types), dicts, `Literal`,
`Optional`/unions, `Callable`, `type[...]` and classes.
Anything it cannot decide (no annotation, `Any`, type variables, protocols, a function without a return
annotation, a forward reference that does not resolve) is accepted: the check only refuses what is certainly wrong.

Deliberate leniencies, because gin users write them and the code copes: an int where a float is annotated, a list
where a tuple is annotated, and numbers or sequences where a NumPy or JAX array is annotated. A bool is never an
int here (though Python says it is): `num_steps = True` is a mistake.
"""

import collections.abc
import dataclasses
import difflib
import inspect
import sys
import types
import typing
from typing import Any

from launch import config_model as cm
from launch.errors import UsageError

_UNKNOWN = object()  # an annotation or a value type this module cannot decide: always accepted


@dataclasses.dataclass(frozen=True)
class Value:
  value: Any


@dataclasses.dataclass(frozen=True)
class Instance:
  cls: Any  # a class, or _UNKNOWN


@dataclasses.dataclass(frozen=True)
class Object:
  obj: Any


def check(model: cm.ConfigModel) -> None:
  """Raises one UsageError listing every binding whose value cannot be what its parameter's annotation says."""
  resolved = model.resolved()
  problems = []
  for b in resolved.values():
    if b.is_macro:
      continue
    annotation = parameter_annotation(b.selector, b.param)
    if annotation is _UNKNOWN:
      continue
    value, via = _expand(b.value, resolved)
    if _has_required(value):
      continue
    kind = kind_of(value)
    if not accepts(annotation, kind):
      problems.append(_describe(b, value, via, annotation, kind))
  if problems:
    raise UsageError('wrong value types:\n' + '\n'.join(problems))


def _describe(b: cm.Binding, value, via: str, annotation, kind) -> str:
  where = via or b.location.describe()
  name = f'{b.selector.rpartition(".")[2]}.{b.param}'
  fix = suggestion(annotation, value, kind)
  return f'  {where}: {name} is annotated {format_annotation(annotation)}, got {cm.to_gin(value)}; {fix}'


def suggestion(annotation, value, kind) -> str:
  """A concrete fix for the commonest mistakes, else what to write."""
  want = format_annotation(annotation)
  if isinstance(kind, Object) and inspect.isclass(kind.obj) and accepts(annotation, Instance(kind.obj)):
    return f'write @{_ref_text(value)}() (with parentheses) to pass an instance instead of the class.'
  if isinstance(kind, Instance) and isinstance(value, cm.Ref) and accepts(annotation, Object(_target(value))):
    return f'write @{_ref_text(value)} (without parentheses) to pass the {_what(value)} itself, not its result.'
  if isinstance(kind, Value):
    v = kind.value
    options = _literal_options(annotation)
    if options:
      close = difflib.get_close_matches(str(v), [str(o) for o in options], n=1, cutoff=0.5)
      extra = f' (did you mean {close[0]!r}?)' if close else ''
      return f'choose one of {", ".join(repr(o) for o in options)}{extra}.'
    if isinstance(v, bool) and not accepts(annotation, Value(v)):
      return f'write a value of type {want} (True/False is not a number here).'
    if isinstance(v, float) and v.is_integer() and accepts(annotation, Value(int(v))):
      return f'write {int(v)} (an int, without a decimal point or exponent).'
    if isinstance(v, str) and _number(v) is not None and accepts(annotation, Value(_number(v))):
      return f'remove the quotes: {v}.'
    if isinstance(v, int) and v in (0, 1) and accepts(annotation, Value(bool(v))):
      return f'write {bool(v)} (a bool).'
    if isinstance(v, str) and v.isidentifier() and _wants_object(annotation):
      return f'a configurable is written @name or @name() (e.g. @{v}), not as a string.'
  return f'give a value of type {want}.'


def _wants_object(annotation) -> bool:
  """Whether the annotation asks for a callable or an instance of a non-builtin class (something gin writes @x)."""
  if _is_union(annotation):
    return any(_wants_object(a) for a in typing.get_args(annotation))
  origin = typing.get_origin(annotation)
  if origin is collections.abc.Callable or annotation in (collections.abc.Callable, typing.Callable, callable):
    return True
  return inspect.isclass(annotation) and annotation.__module__ != 'builtins'


def _ref_text(value) -> str:
  return value.name.rpartition('/')[2] if isinstance(value, cm.Ref) else str(value)


def _what(value) -> str:
  return 'class' if inspect.isclass(_target(value)) else 'function'


def _number(text: str):
  for cast in (int, float):
    try:
      return cast(text.strip())
    except ValueError:
      continue
  return None


def _literal_options(annotation) -> list:
  if typing.get_origin(annotation) is typing.Literal:
    return list(typing.get_args(annotation))
  if _is_union(annotation):
    return [o for a in typing.get_args(annotation) for o in _literal_options(a)]
  return []


# ---------------------------------------------------------------------------------------------------------------
# Values


def _expand(value, resolved, depth: int = 0) -> tuple[Any, str]:
  """The value with macros replaced by their values, and where the (outermost) macro was set, if any."""
  via = ''
  if isinstance(value, cm.Macro) and value.name in resolved and depth < 20:
    macro = resolved[value.name]
    inner, _ = _expand(macro.value, resolved, depth + 1)
    return inner, f'{macro.location.describe()} (macro %{value.name})'
  if isinstance(value, tuple):
    return tuple(_expand(v, resolved, depth + 1)[0] for v in value), via
  if isinstance(value, list):
    return [_expand(v, resolved, depth + 1)[0] for v in value], via
  if isinstance(value, dict):
    return {k: _expand(v, resolved, depth + 1)[0] for k, v in value.items()}, via
  return value, via


def _has_required(value) -> bool:
  if isinstance(value, cm.Macro):
    return True  # gin.REQUIRED or an undefined macro (reported elsewhere)
  if isinstance(value, (tuple, list)):
    return any(_has_required(v) for v in value)
  if isinstance(value, dict):
    return any(_has_required(v) for v in value.values())
  return False


def _target(ref: cm.Ref):
  return cm.import_object(ref.name.rpartition('/')[2])


def kind_of(value):
  """Value(literal), Instance(cls) for `@name()`, or Object(obj) for `@name`. Containers stay literals."""
  if isinstance(value, cm.Ref):
    target = _target(value)
    if target is None:
      return Instance(_UNKNOWN)  # an unknown name is reported by validate.check_bindings
    if not value.evaluate:
      return Object(target)
    if inspect.isclass(target):
      return Instance(target)
    returned = _hints(target).get('return', _UNKNOWN)
    return Instance(returned if inspect.isclass(returned) else _UNKNOWN)
  if isinstance(value, cm.Macro):
    return Instance(_UNKNOWN)
  return Value(value)


# ---------------------------------------------------------------------------------------------------------------
# Annotations


def parameter_annotation(selector: str, param: str):
  """The resolved annotation of `selector`'s parameter `param`, or _UNKNOWN."""
  obj = cm.import_object(selector)
  if obj is None:
    return _UNKNOWN
  try:
    sig = inspect.signature(obj)
  except (TypeError, ValueError):
    return _UNKNOWN
  p = sig.parameters.get(param)
  if p is None or p.annotation is inspect.Parameter.empty:
    return _UNKNOWN
  annotation = p.annotation
  if isinstance(annotation, str):
    annotation = _hints(obj).get(param, _UNKNOWN)
    if isinstance(annotation, str):
      return _UNKNOWN
  return annotation


def _hints(obj) -> dict:
  """typing.get_type_hints of a function, or of a class's fields and __init__; {} when they do not resolve."""
  targets = [obj]
  if inspect.isclass(obj):
    targets = [obj, obj.__init__]
  hints: dict = {}
  for target in targets:
    try:
      found = typing.get_type_hints(target)
    except Exception:  # noqa: BLE001 - a name only imported under TYPE_CHECKING, ...: resolve one by one
      found = _hints_one_by_one(target)
    hints = {**found, **hints}
  return hints


def _hints_one_by_one(target) -> dict:
  raw = getattr(target, '__annotations__', {}) or {}
  module = sys.modules.get(getattr(target, '__module__', ''), None)
  namespace = dict(vars(module)) if module else {}
  out = {}
  for name, text in raw.items():
    if not isinstance(text, str):
      out[name] = text
      continue
    try:
      out[name] = eval(text, namespace)  # noqa: S307 - an annotation string of our own code
    except Exception:  # noqa: BLE001
      continue
  return out


def format_annotation(annotation) -> str:
  return inspect.formatannotation(annotation).replace('typing.', '').replace('collections.abc.', '')


def _is_union(annotation) -> bool:
  return typing.get_origin(annotation) in (typing.Union, types.UnionType)


_SEQUENCES = (
  list,
  tuple,
  collections.abc.Sequence,
  collections.abc.MutableSequence,
  collections.abc.Iterable,
  collections.abc.Collection,
)
_MAPPINGS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)


def accepts(annotation, kind) -> bool:
  """Whether a value of `kind` (Value, Instance, Object) can be what `annotation` describes."""
  if annotation is _UNKNOWN or annotation is Any or annotation is object or annotation is inspect.Parameter.empty:
    return True
  if isinstance(annotation, (str, typing.TypeVar, typing.ForwardRef)):
    return True
  origin, args = typing.get_origin(annotation), typing.get_args(annotation)
  if _is_union(annotation):
    return any(accepts(a, kind) for a in args)
  if origin is typing.Annotated:
    return accepts(args[0], kind)
  if isinstance(kind, Instance) and kind.cls is _UNKNOWN:
    return True
  if origin is typing.Literal:
    return not isinstance(kind, Value) or any(type(kind.value) is type(a) and kind.value == a for a in args)
  if annotation is None or annotation is type(None):
    return isinstance(kind, Value) and kind.value is None
  if origin is collections.abc.Callable or annotation in (collections.abc.Callable, typing.Callable, callable):
    return _callable(kind)
  if origin is type or annotation is type:
    return _class_object(kind, args)
  if origin in _SEQUENCES or origin in _MAPPINGS:
    return _container(origin, args, kind)
  if inspect.isclass(annotation):
    return _instance_of(annotation, kind)
  return True  # another typing construct (Protocol generics, ParamSpec, ...): not decided here


def _callable(kind) -> bool:
  if isinstance(kind, Value):
    return False
  if isinstance(kind, Object):
    return callable(kind.obj)
  return any('__call__' in vars(k) for k in kind.cls.__mro__ if k is not object)


def _class_object(kind, args) -> bool:
  if not isinstance(kind, Object) or not inspect.isclass(kind.obj):
    return False
  if not args or not inspect.isclass(args[0]):
    return True
  return _subclass(kind.obj, args[0])


def _container(origin, args, kind) -> bool:
  if not isinstance(kind, Value):
    return kind.cls is _UNKNOWN if isinstance(kind, Instance) else True
  value = kind.value
  if origin in _MAPPINGS:
    if not isinstance(value, dict):
      return False
    if len(args) == 2:
      return all(accepts(args[0], kind_of(k)) and accepts(args[1], kind_of(v)) for k, v in value.items())
    return True
  if not isinstance(value, (tuple, list)):
    return False
  if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
    return len(value) == len(args) and all(accepts(a, kind_of(v)) for a, v in zip(args, value))
  if args:
    return all(accepts(args[0], kind_of(v)) for v in value)
  return True


def _array_like(cls) -> bool:
  return (getattr(cls, '__module__', '') or '').split('.')[0] in ('numpy', 'jax', 'jaxlib')


def _instance_of(cls, kind) -> bool:
  if isinstance(kind, Instance):
    if cls is float and _subclass(kind.cls, int) and not _subclass(kind.cls, bool):
      return True
    return _subclass(kind.cls, cls) or _provides(kind.cls, cls)
  if isinstance(kind, Object):
    return _isinstance(kind.obj, cls) or _provides(type(kind.obj), cls)
  value = kind.value
  if isinstance(value, bool):
    return cls is bool or (cls is not int and cls is not float and _isinstance(value, cls))
  if cls is float:
    return isinstance(value, (int, float))
  if cls is complex:
    return isinstance(value, (int, float, complex))
  if _array_like(cls):
    return isinstance(value, (int, float, tuple, list)) or _isinstance(value, cls)
  if cls in (tuple, list):
    return isinstance(value, (tuple, list))
  return _isinstance(value, cls)


def _provides(have, want) -> bool:
  """Duck typing: `have` defines every public method and property `want` defines (beyond builtins' own).

  The repo passes look-alikes (a lazily loaded TFDS dataset where an in-memory ArrayDataset is annotated), so a
  class that is not a subclass is refused only when it lacks part of the annotated class's interface.
  """
  if want.__module__ == 'builtins':
    return False
  names = {
    n
    for k in want.__mro__
    if k.__module__ != 'builtins'
    for n, v in vars(k).items()
    if not n.startswith('_') and (callable(v) or isinstance(v, (property, classmethod, staticmethod)))
  }
  return all(hasattr(have, n) for n in names)


def _isinstance(value, cls) -> bool:
  try:
    return isinstance(value, cls)
  except TypeError:
    return True


def _subclass(a, b) -> bool:
  try:
    return issubclass(a, b)
  except TypeError:
    return True
