"""Gin configs as data: every binding with its canonical value and where it was set (file and line).

gin-config 0.5 does not record provenance, so this module reads the same files with gin's own parser
(`gin.config_parser.ConfigParser`), follows `include`s in order, and resolves each selector through the
importing file's `import` statements to a full Python path (`loop.train` -> `common.train.loop.train`). The
launcher writes the result as config/resolved.gin (with provenance comments) and config/resolved.json; the
diff tool compares two of them by key.

A key is `scope/full.selector.param` (scope omitted when empty) for a parameter and the bare name for a macro.
"""

import dataclasses
import importlib
import inspect
import io
import os
import tokenize
from typing import Any

from gin import config_parser

from launch.errors import UsageError
from launch.gin_args import find_gin_file, repo_root

CLI = '<command line>'


@dataclasses.dataclass(frozen=True)
class Ref:
  """`@name` (evaluate=False) or `@name()` (evaluate=True); `name` is the resolved full path."""

  name: str
  evaluate: bool

  def gin(self) -> str:
    return f'@{self.name}' + ('()' if self.evaluate else '')


@dataclasses.dataclass(frozen=True)
class Macro:
  name: str

  def gin(self) -> str:
    return f'%{self.name}'


@dataclasses.dataclass(frozen=True)
class Location:
  file: str  # path relative to the repo root when inside it, or CLI
  line: int = 0
  chain: tuple[str, ...] = ()  # the include chain that led to `file` (outermost first)
  flag: str = dataclasses.field(default='', compare=False)  # a command-line binding's text, for error messages

  def __str__(self) -> str:
    if self.file == CLI:
      return 'command line'
    via = f' (via {" -> ".join(self.chain)})' if self.chain else ''
    return f'{self.file}:{self.line}{via}'

  def describe(self) -> str:
    """Where to fix it, for error messages: `file:line` or the command-line binding as written."""
    return f'command line --gin_bindings={self.flag!r}' if self.file == CLI and self.flag else str(self)


@dataclasses.dataclass(frozen=True)
class Binding:
  scope: str
  selector: str  # full python path of the configurable, or the macro name
  param: str  # '' for a macro
  value: Any
  location: Location
  written: str  # the selector as written in the file

  @property
  def is_macro(self) -> bool:
    return self.param == ''

  @property
  def key(self) -> str:
    if self.is_macro:
      return self.selector
    return (f'{self.scope}/' if self.scope else '') + f'{self.selector}.{self.param}'


def to_gin(value: Any) -> str:
  """The gin-syntax text of a canonical value."""
  if isinstance(value, (Ref, Macro)):
    return value.gin()
  if isinstance(value, tuple):
    inner = ', '.join(to_gin(v) for v in value)
    return f'({inner},)' if len(value) == 1 else f'({inner})'
  if isinstance(value, list):
    return '[' + ', '.join(to_gin(v) for v in value) + ']'
  if isinstance(value, dict):
    return '{' + ', '.join(f'{to_gin(k)}: {to_gin(v)}' for k, v in value.items()) + '}'
  return repr(value)


def to_json(value: Any) -> Any:
  """A JSON-able canonical form: references and macros become tagged dicts; numbers stay numbers."""
  if isinstance(value, Ref):
    return {'@': value.name, 'call': value.evaluate}
  if isinstance(value, Macro):
    return {'%': value.name}
  if isinstance(value, (tuple, list)):
    return [to_json(v) for v in value]
  if isinstance(value, dict):
    return {str(to_json(k)): to_json(v) for k, v in sorted(value.items(), key=lambda kv: repr(kv[0]))}
  return value


class _Delegate(config_parser.ParserDelegate):
  def configurable_reference(self, scoped_name, evaluate):
    return Ref(scoped_name, evaluate)

  def macro(self, macro_name):
    return Macro(macro_name)


@dataclasses.dataclass
class ConfigModel:
  """All bindings in the order gin applies them (later ones win), plus the files and imports read."""

  bindings: list[Binding] = dataclasses.field(default_factory=list)
  files: list[str] = dataclasses.field(default_factory=list)
  imports: dict[str, str] = dataclasses.field(default_factory=dict)  # alias/partial path -> module
  import_sites: list[tuple[str, Location]] = dataclasses.field(default_factory=list)  # (module, where imported)

  def resolved(self) -> dict[str, Binding]:
    out: dict[str, Binding] = {}
    for b in self.bindings:
      out[b.key] = b
    return out

  def configurables(self) -> set[str]:
    names = {b.selector for b in self.bindings if not b.is_macro}
    for b in self.bindings:
      names |= {r.name for r in _refs(b.value)}
    return names


def _refs(value):
  if isinstance(value, Ref):
    yield value
  elif isinstance(value, (tuple, list)):
    for v in value:
      yield from _refs(v)
  elif isinstance(value, dict):
    for k, v in value.items():
      yield from _refs(k)
      yield from _refs(v)


def _relative(path: str) -> str:
  root = repo_root()
  path = os.path.abspath(path)
  return os.path.relpath(path, root) if path.startswith(root + os.sep) else path


def _resolve_name(name: str, imports: dict[str, str]) -> str:
  """`loop.train` -> `common.train.loop.train` using the file's imports; unknown prefixes stay as written.

  A scoped name keeps its scope: `eval/loop.train` -> `eval/common.train.loop.train`.
  """
  if '/' in name:
    scope, _, bare = name.rpartition('/')
    return f'{scope}/{_resolve_name(bare, imports)}'
  if name.startswith('gin.'):
    return name
  parts = name.split('.')
  for i in range(len(parts) - 1, 0, -1):
    prefix = '.'.join(parts[:i])
    if prefix in imports:
      return '.'.join([imports[prefix]] + parts[i:])
  return name


def _canonical(value, imports):
  if isinstance(value, Ref):
    return Ref(_resolve_name(value.name, imports), value.evaluate)
  if isinstance(value, tuple):
    return tuple(_canonical(v, imports) for v in value)
  if isinstance(value, list):
    return [_canonical(v, imports) for v in value]
  if isinstance(value, dict):
    return {_canonical(k, imports): _canonical(v, imports) for k, v in value.items()}
  return value


def _parse_text(text: str, filename: str):
  """gin's own parser over `text`; every syntax problem becomes a UsageError naming `filename` and the line."""
  try:
    return list(config_parser.ConfigParser(_Named(text, filename), _Delegate()))
  except SyntaxError as e:
    shown = (e.text or '').rstrip()
    raise UsageError(f'{filename}:{e.lineno}: gin syntax error: {e.msg}' + (f'\n  {shown}' if shown else '')) from None
  except tokenize.TokenError:
    raise UsageError(f'{filename}: gin syntax error: {_unclosed(text)}') from None
  except (ValueError, TypeError, IndexError) as e:  # gin's literal parser on odd input (null bytes, ...)
    raise UsageError(f'{filename}: gin could not parse this text: {_first_line(e)}') from None


def _unclosed(text: str) -> str:
  """Why tokenizing stopped at the end of the text: the innermost bracket (or string) still open, with its line."""
  stack: list[tuple[str, int]] = []
  try:
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
      if tok.type == tokenize.OP and tok.string in '([{':
        stack.append((tok.string, tok.start[0]))
      elif tok.type == tokenize.OP and tok.string in ')]}' and stack:
        stack.pop()
  except tokenize.TokenError:
    pass
  if stack:
    bracket, line = stack[-1]
    closer = {'(': ')', '[': ']', '{': '}'}[bracket]
    return f'line {line}: {bracket!r} is never closed (the file ends first); add the missing {closer!r}.'
  return 'the file ends inside an unterminated string or statement; close it.'


def _first_line(error: Exception) -> str:
  return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]


def _read_text(path: str, rel: str) -> str:
  """The text of a gin file, or a UsageError naming the file: unreadable, not UTF-8, or without any statement."""
  try:
    with open(path, 'rb') as f:
      data = f.read()
  except OSError as e:
    raise UsageError(f'{rel}: cannot read this gin file: {e.strerror or e}.') from None
  try:
    text = data.decode('utf-8')
  except UnicodeDecodeError as e:
    line = data[: e.start].count(b'\n') + 1
    raise UsageError(
      f'{rel}:{line}: not UTF-8 text (byte {data[e.start : e.start + 1]!r} at offset {e.start}); gin files are '
      'UTF-8. Re-save it as UTF-8, or check that this is the gin file you meant.'
    ) from None
  if '\x00' in text:
    raise UsageError(f'{rel}: contains NUL bytes, so it is not a text gin file; check the path.')
  if not text.strip():
    raise UsageError(f'{rel}: the file is empty. Write bindings in it, or drop it from --gin_file / the include.')
  return text


class _Named:
  """A file-like object with a name, so gin's parser reports locations in the right file."""

  def __init__(self, text, name):
    self._io = io.StringIO(text)
    self.name = name

  def readline(self):
    return self._io.readline()


def load(gin_files: list[str], bindings: list[str], search_paths: list[str]) -> ConfigModel:
  """Reads gin files (following includes) and command-line bindings into a ConfigModel."""
  model = ConfigModel()

  def read_file(path: str, chain: tuple[str, ...]):
    rel = _relative(path)
    if rel in chain:
      raise UsageError(f'{rel}: include cycle: {" -> ".join(chain + (rel,))}; remove one of these includes.')
    model.files.append(rel)
    text = _read_text(path, rel)
    imports: dict[str, str] = {}
    for statement in _parse_text(text, rel):
      if isinstance(statement, config_parser.ImportStatement):
        if statement.module.startswith('__gin__'):
          continue
        model.import_sites.append((statement.module, Location(rel, statement.location.line_num, chain)))
        if statement.is_from or statement.alias:
          imports[statement.bound_name()] = statement.module
          imports[statement.partial_path()] = statement.module
        else:  # `import a.b.c` is used as `a.b.c.fn`: the full dotted name, not `a`, names the module
          imports[statement.module] = statement.module
        model.imports.update(imports)
      elif isinstance(statement, config_parser.IncludeStatement):
        try:
          child = find_gin_file(statement.filename, search_paths)
        except UsageError as e:
          raise UsageError(f'{rel}:{statement.location.line_num}: include failed: {e}') from None
        read_file(child, chain + (rel,))
      elif isinstance(statement, config_parser.BindingStatement):
        model.bindings.append(_binding(statement, imports, Location(rel, statement.location.line_num, chain)))

  for path in gin_files:
    read_file(find_gin_file(path, search_paths), ())
  known = None
  for text in bindings:
    for statement in _parse_cli_binding(text):
      if not isinstance(statement, config_parser.BindingStatement):
        raise UsageError(f'--gin_bindings={text!r}: only bindings (X=Y) are allowed on the command line.')
      known = known if known is not None else model.configurables()
      b = _binding(statement, model.imports, Location(CLI, flag=text))
      if not b.is_macro and b.selector not in known:
        b = dataclasses.replace(b, selector=_match_partial(b.selector, known, text))
      model.bindings.append(b)
  return model


def _parse_cli_binding(text: str):
  """A --gin_bindings / --gin.X=Y value, with errors that name the flag and say how to quote a string."""
  if not text.strip():
    raise UsageError('--gin_bindings= is empty; write --gin.NAME=VALUE, e.g. --gin.train.num_steps=500.')
  name, eq, value = text.partition('=')
  if not eq or not name.strip() or not value.strip():
    raise UsageError(
      f'--gin_bindings={text!r} is not NAME=VALUE; write e.g. --gin.train.num_steps=500 (strings quoted: '
      '--gin.create_optimizer.name="\'adam\'").'
    )
  try:
    return _parse_text(text, '--gin_bindings')
  except UsageError as e:
    detail = next((ln.strip() for ln in str(e).splitlines() if 'Failed to parse' in ln), '')
    detail = detail or str(e).splitlines()[0].split('gin syntax error: ', 1)[-1].removeprefix('line 1: ').rstrip('.')
    hint = ''
    if value.strip().isidentifier():
      hint = (
        f' Strings need quotes: --gin.{name.strip()}="\'{value.strip()}\'"; a configurable needs @: '
        f'--gin.{name.strip()}=@{value.strip()}.'
      )
    raise UsageError(f'--gin_bindings={text!r}: {value.strip()!r} is not a gin value ({detail}).{hint}') from None


def _binding(statement, imports, location) -> Binding:
  value = _canonical(statement.value, imports)
  selector = statement.selector if statement.arg_name == '' else _resolve_name(statement.selector, imports)
  return Binding(statement.scope, selector, statement.arg_name, value, location, statement.selector)


def _match_partial(selector: str, known: set[str], text: str = '') -> str:
  """Gin's partial-name matching: `train` matches `common.train.loop.train` if no other name ends that way.

  Two or more matches are a UsageError listing them (gin would refuse the binding too); no match keeps the name,
  which validate.check_bindings then reports.
  """
  matches = sorted(k for k in known if k == selector or k.endswith('.' + selector))
  if len(matches) > 1:
    options = ', '.join('.'.join(m.split('.')[-2:]) for m in matches)
    raise UsageError(
      f'--gin_bindings={text!r}: {selector!r} is ambiguous in this config: it matches {", ".join(matches)}. Write '
      f'a longer name, one of: {options}.'
    )
  return matches[0] if matches else selector


def import_object(full_name: str):
  """The Python object behind a full selector, or None when it cannot be imported."""
  parts = full_name.split('.')
  for i in range(len(parts) - 1, 0, -1):
    try:
      obj = importlib.import_module('.'.join(parts[:i]))
    except Exception:  # noqa: BLE001 - an unimportable prefix; validate.check_imports reports why
      continue
    try:
      for attr in parts[i:]:
        obj = getattr(obj, attr)
      return obj
    except AttributeError:
      return None
  return None


def signature_params(obj) -> tuple[dict[str, inspect.Parameter], bool] | None:
  """(parameters, accepts **kwargs) of a callable (a flax Module's dataclass fields included), or None."""
  try:
    sig = inspect.signature(obj)
  except (TypeError, ValueError):
    return None
  params = {n: p for n, p in sig.parameters.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
  has_kwargs = any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values())
  params.pop('parent', None)
  params.pop('name', None) if _is_flax_module(obj) else None
  return params, has_kwargs


def _is_flax_module(obj) -> bool:
  try:
    import flax.linen as nn

    return inspect.isclass(obj) and issubclass(obj, nn.Module)
  except ImportError:
    return False


def render_gin(model: ConfigModel) -> str:
  """The resolved config as a gin file with a provenance comment on every line."""
  resolved = model.resolved()
  lines = [
    '# Resolved config: every binding after includes and command-line overrides.',
    '# Files read: ' + ', '.join(model.files),
    '',
  ]
  macros = sorted((b for b in resolved.values() if b.is_macro), key=lambda b: b.key)
  params = sorted((b for b in resolved.values() if not b.is_macro), key=lambda b: b.key)
  for b in macros + params:
    lines.append(f'{b.key} = {to_gin(b.value)}  # {b.location}')
  return '\n'.join(lines) + '\n'


def to_json_dict(model: ConfigModel) -> dict[str, Any]:
  """The canonical, machine-readable resolved config (the diff tool's input)."""
  return {
    'files': model.files,
    'bindings': {
      k: {'value': to_json(b.value), 'gin': to_gin(b.value), 'set_at': str(b.location)}
      for k, b in sorted(model.resolved().items())
    },
  }
