"""`launch diff A B`: a semantic, key-by-key review of what differs between two experiment configs.

  launch diff configs/x/a.gin configs/x/b.gin                  two gin files (each side may be f1.gin+f2.gin)
  launch diff /tmp/run1 /tmp/run2                              two run workdirs (their config/resolved.json)
  launch diff HEAD~3:configs/x/a.gin configs/x/a.gin           a gin file at a git revision vs the working tree
  launch diff --base=origin/main configs/x/a.gin               the same, for a code review (head: working tree)
  launch diff a.gin a.gin --b=NUM_STEPS=10 --format=markdown   bindings on one side (--a=, --b=) or both (--gin.X=Y)

What is compared is the *effective* config of each side: every binding after includes and overrides, plus the
code defaults of every configurable the experiment reaches (taken from the code at that revision, or from the
run's config/operative.gin for a workdir), so a changed default in common/ shows up although no gin file
changed. Keys are `scope/full.python.path.param` (macros by name); values are compared after macro expansion
(the macro keeps its name in the output), numbers as numbers, references by their full target. Each changed key
shows where it was set on both sides, and changes that would make restoring a checkpoint of the other side fail
(parameter shapes, optimizer-state structure) are flagged.

Exit status: 0 equal, 1 different, 2 bad input (a workdir without a saved config, an unknown revision, ...).
"""

import argparse
import dataclasses
import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Any

from launch.errors import EXIT_USAGE, UsageError

DEFAULT_TAG = 'code default'
VOLATILE = ('workdir', 'dry_run')  # launcher-supplied or run-local: never make two experiments different
BREAKS_SHAPES = 'checkpoint: parameter shapes may change'
BREAKS_OPTIMIZER = 'checkpoint: optimizer state structure may change'
UNREACHED = 'not reached from the entry point on {side} (dead binding)'


# ----------------------------------------------------------------------------------------------------------------
# The effective config of one side: {key: entry}, entry = {value, gin, set_at, default, kind, macro}.


def split_key(key: str) -> tuple[str, str, str]:
  """`scope/a.b.C.param` -> (scope, 'a.b.C', 'param'); a macro -> ('', NAME, '')."""
  scope, _, rest = key.rpartition('/')
  if '.' not in rest:
    return scope, rest, ''
  selector, _, param = rest.rpartition('.')
  return scope, selector, param


def _uses_macro(value, name: str) -> bool:
  if isinstance(value, dict):
    return value.get('%') == name or any(_uses_macro(v, name) for v in value.values())
  if isinstance(value, list):
    return any(_uses_macro(v, name) for v in value)
  return False


def macro_users(entries: dict, name: str) -> list[str]:
  """Keys whose value uses %name directly (macros that use it are followed to their own users)."""
  users, todo, seen = [], [name], set()
  while todo:
    current = todo.pop()
    if current in seen:
      continue
    seen.add(current)
    for key, e in entries.items():
      if _uses_macro(e['value'], current):
        (users if split_key(key)[2] else todo).append(key)
  return sorted(users)


def _refs(value):
  if isinstance(value, dict) and '@' in value:
    yield value['@']
  elif isinstance(value, dict):
    for v in value.values():
      yield from _refs(v)
  elif isinstance(value, list):
    for v in value:
      yield from _refs(v)


def expand(value, bindings: dict, depth: int = 0):
  """Replaces every macro {'%': NAME} by its (recursively expanded) value; gin.REQUIRED and unknowns stay."""
  if depth > 32:
    return value
  if isinstance(value, dict) and set(value) == {'%'}:
    name = value['%']
    if name in bindings and name != 'gin.REQUIRED':
      return expand(bindings[name]['value'], bindings, depth + 1)
    return value
  if isinstance(value, dict) and '@' not in value:
    return {k: expand(v, bindings, depth) for k, v in value.items()}
  if isinstance(value, list):
    return [expand(v, bindings, depth) for v in value]
  return value


def reachable(bindings: dict) -> set[str] | None:
  """Configurables reached from ENTRY_POINT through bound references (None when there is no entry point)."""
  if 'ENTRY_POINT' not in bindings:
    return None
  by_selector: dict[str, list[str]] = {}
  for key in bindings:
    _, selector, param = split_key(key)
    if param:
      by_selector.setdefault(selector, []).append(key)
  seen: set[str] = set()
  todo = [r.rpartition('/')[2] for r in _refs(expand(bindings['ENTRY_POINT']['value'], bindings))]
  while todo:
    name = todo.pop()
    if name in seen:
      continue
    seen.add(name)
    for key in by_selector.get(name, []):
      todo.extend(r.rpartition('/')[2] for r in _refs(expand(bindings[key]['value'], bindings)))
  return seen


def default_json(value) -> Any:
  """A code default in the same canonical JSON form as resolved.json values."""
  if value is None or isinstance(value, (bool, int, float, str)):
    return value
  if isinstance(value, (tuple, list)):
    return [default_json(v) for v in value]
  if isinstance(value, dict):
    return {str(k): default_json(v) for k, v in sorted(value.items(), key=lambda kv: repr(kv[0]))}
  if callable(value) and getattr(value, '__qualname__', None) and getattr(value, '__module__', None):
    return {'@': f'{value.__module__}.{value.__qualname__}', 'call': False}
  return {'repr': repr(value)}


def json_gin(value) -> str:
  """Gin-like text of a canonical JSON value."""
  if isinstance(value, dict) and '@' in value:
    return '@' + value['@'] + ('()' if value.get('call') else '')
  if isinstance(value, dict) and set(value) == {'%'}:
    return '%' + value['%']
  if isinstance(value, dict) and set(value) == {'repr'}:
    return value['repr']
  if isinstance(value, dict):
    return '{' + ', '.join(f'{k!r}: {json_gin(v)}' for k, v in value.items()) + '}'
  if isinstance(value, list):
    inner = ', '.join(json_gin(v) for v in value)
    return f'({inner},)' if len(value) == 1 else f'({inner})'
  return repr(value)


def _kind(selector: str, obj, roles: dict[str, str]) -> str:
  """'model' (a flax Module or what a `model=` parameter references: its fields shape parameters), 'optimizer'
  (optax, an `optim` module or function, or what an `optimizer=` parameter references), or 'other'."""
  from launch import config_model as cm

  if obj is not None and 'flax.linen' in sys.modules and cm._is_flax_module(obj):  # no flax import just to ask
    return 'model'
  module = getattr(obj, '__module__', '') or ''
  if module.startswith('optax') or selector.startswith('optax.') or 'optim' in selector.rpartition('.')[2]:
    return 'optimizer'
  if '.optim.' in f'.{selector}.':
    return 'optimizer'
  return roles.get(selector, 'other')


def _source(obj, root: str | None) -> str:
  try:
    path = inspect.getsourcefile(obj)
    line = inspect.getsourcelines(obj)[1]
  except (TypeError, OSError):
    return DEFAULT_TAG
  if path and root and os.path.abspath(path).startswith(root + os.sep):
    path = os.path.relpath(path, root)
  return f'{DEFAULT_TAG} ({path}:{line})'


def effective(bindings: dict, *, root: str | None, defaults: str = 'code', operative: dict | None = None) -> dict:
  """resolved.json bindings -> the effective config (bindings + code defaults of every reached configurable).

  defaults: 'code' reads signatures of the importable code; 'none' adds no defaults; `operative` (a dict of
  key -> entry parsed from a run's operative.gin) supplies the defaults the run actually used, when given.
  """
  from launch import config_model as cm

  entries = {}
  for key, b in bindings.items():
    entries[key] = {
      'value': b['value'],
      'gin': b.get('gin', json_gin(b['value'])),
      'set_at': b.get('set_at', '?'),
      'default': False,
    }
  reached = reachable(bindings)
  selectors = {split_key(k)[1] for k in bindings if split_key(k)[2]}
  for k in bindings:
    selectors |= {r.rpartition('/')[2] for r in _refs(bindings[k]['value'])}
  roles = {}  # configurables referenced by a `model=` or `optimizer=` parameter
  for key, b in bindings.items():
    param = split_key(key)[2]
    if param in ('model', 'optimizer'):
      roles.update({r.rpartition('/')[2]: param for r in _refs(expand(b['value'], bindings))})
  kinds = {}
  for selector in sorted(selectors):
    obj = cm.import_object(selector)
    kinds[selector] = _kind(selector, obj, roles)
    if defaults == 'none' or (reached is not None and selector not in reached):
      continue
    if obj is None:
      print(f'launch diff: warning: cannot import {selector}; its code defaults are left out.', file=sys.stderr)
      continue
    sig = cm.signature_params(obj)
    if sig is None:
      continue
    for name, p in sig[0].items():
      key = f'{selector}.{name}'
      if key in entries or name in VOLATILE:
        continue
      if operative is not None and key in operative:
        entries[key] = {**operative[key], 'default': True}
      elif p.default is not p.empty:
        value = default_json(p.default)
        gin_text = cm.to_gin(p.default) if not isinstance(value, dict) else json_gin(value)
        entries[key] = {'value': value, 'gin': gin_text, 'set_at': _source(obj, root), 'default': True}
  for key, e in entries.items():
    _, selector, param = split_key(key)
    e['kind'] = kinds.get(selector, 'other') if param else 'macro'
    if param in ('model', 'optimizer') and list(_refs(e['value'])):
      e['kind'] = param
    e['reached'] = reached is None or not param or selector in reached
    e['expanded'] = expand(e['value'], bindings)
  return entries


def _operative_defaults(path: str, root: str) -> dict:
  """Parameter values gin recorded as used by the run (config/operative.gin), keyed like resolved.json."""
  from launch import config_model as cm

  model = cm.load([path], [], [root])
  out = {}
  for key, b in model.resolved().items():
    if b.is_macro or b.selector.startswith('launch.'):
      continue
    out[key] = {
      'value': cm.to_json(b.value),
      'gin': cm.to_gin(b.value),
      'set_at': f'{DEFAULT_TAG} (recorded in config/operative.gin)',
    }
  return out


# ----------------------------------------------------------------------------------------------------------------
# Sides: gin files (working tree or a git revision) and workdirs.


@dataclasses.dataclass
class Side:
  label: str
  entries: dict
  shapes: dict | None = None  # with --shapes: abstract parameters and optimizer state (see abstract_state)


def side_from_workdir(workdir: str, defaults: str, shapes: bool = False) -> Side:
  from launch.gin_args import repo_root

  path = os.path.join(workdir, 'config', 'resolved.json')
  if not os.path.isfile(path):
    raise UsageError(
      f'{workdir} has no saved config ({path} is missing): it is not a launch workdir, or its run never got past '
      'validation. Pass a workdir written by `launch --workdir=...`, or gin files.'
    )
  with open(path) as f:
    bindings = json.load(f)['bindings']
  operative = None
  op_path = os.path.join(workdir, 'config', 'operative.gin')
  if defaults == 'code' and os.path.isfile(op_path):
    try:
      operative = _operative_defaults(op_path, repo_root())
    except UsageError:
      operative = None
  entries = effective(bindings, root=repo_root(), defaults=defaults, operative=operative)
  return Side(workdir.rstrip('/'), entries, checkpoint_shapes(workdir) if shapes else None)


def side_from_gin(
  files: list[str], bindings: list[str], search_paths: list[str], defaults: str, shapes: bool = False
) -> Side:
  """Gin files of the working tree of this repo, read in this process."""
  from launch import config_model as cm
  from launch.gin_args import repo_root

  model = cm.load(files, bindings, search_paths)
  entries = effective(cm.to_json_dict(model)['bindings'], root=repo_root(), defaults=defaults)
  return Side(_label(files, bindings), entries, abstract_state(files, bindings, search_paths) if shapes else None)


def abstract_state(files, bindings, search_paths) -> dict | None:
  """{'params': {path: 'shape dtype'}, 'opt_state': {...}} of the experiment, built with jax.eval_shape.

  Works for entry points that take `model`, `task` and `optimizer` (a factory of num_steps) like
  common.train.loop.train; None for others. Builds the task, so its dataset is loaded.
  """
  import functools

  import gin
  import jax

  from common.train import state as state_lib
  from launch import api, gin_setup

  prepared = api.prepare(files, bindings, search_paths)
  gin_setup.parse(prepared.gin_files, prepared.bindings, prepared.search_paths)
  kw = gin.get_bindings(prepared.entry_name)
  if not {'model', 'task', 'optimizer'} <= set(kw):
    return None
  tx = kw['optimizer'](kw.get('num_steps', 1))
  init = functools.partial(state_lib.init_variables, kw['model'], kw['task'].init_inputs())
  state = jax.eval_shape(lambda k: state_lib.create_state(init(k), tx), jax.random.PRNGKey(0))

  return {'params': _listing(state['params']), 'opt_state': _listing(state['opt_state'])}


def _listing(tree) -> dict[str, str]:
  """{'dense_0/kernel': '(2, 16) float32', ...}: paths written the same for live trees and orbax metadata."""
  import jax

  def part(k):
    for attr in ('key', 'idx', 'name'):
      if hasattr(k, attr):
        return str(getattr(k, attr))
    return str(k)

  leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
  return {'/'.join(part(k) for k in path): f'{tuple(x.shape)} {x.dtype}' for path, x in leaves}


def checkpoint_shapes(workdir: str) -> dict | None:
  """The abstract state saved in a run's latest checkpoint (orbax metadata; no array is read), or None."""
  directory = os.path.join(workdir, 'checkpoints')
  steps = [int(d) for d in os.listdir(directory) if d.isdigit()] if os.path.isdir(directory) else []
  if not steps:
    return None
  import orbax.checkpoint as ocp

  with ocp.PyTreeCheckpointer() as c:
    tree = c.metadata(os.path.join(directory, str(max(steps)), 'state')).item_metadata.tree
  return {'params': _listing(tree['params']), 'opt_state': _listing(tree['opt_state'])}


def checkpoint_report(a: Side, b: Side) -> dict | None:
  """Whether a checkpoint of one side restores into the other: exact, from the abstract states (symmetric)."""
  if a.shapes is None or b.shapes is None:
    return None
  problems = []
  for part, what in (('params', 'parameter'), ('opt_state', 'optimizer state')):
    pa, pb = a.shapes[part], b.shapes[part]
    for path in sorted(set(pa) | set(pb)):
      if pa.get(path) != pb.get(path):
        problems.append(f'{what} {path}: {pa.get(path, "(absent)")} in A, {pb.get(path, "(absent)")} in B')
  return {'compatible': not problems, 'problems': problems}


def _label(files, bindings, rev=None) -> str:
  text = '+'.join(files)
  if rev:
    text = f'{rev}:{text}'
  return text + ''.join(f' {b}' for b in bindings)


def side_from_tree(tree: str, files, bindings, defaults: str, prefix: str, label: str, shapes: bool = False) -> Side:
  """Gin files and code of another tree (an exported git revision or another repo), in a fresh process.

  The launcher's own code comes from this checkout; `common`, `projects` and the configs from `tree`, so code
  defaults are those of that tree. Locations are written `prefix` + path relative to the tree.
  """
  here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  request = json.dumps({'tree': tree, 'files': files, 'bindings': bindings, 'defaults': defaults, 'shapes': shapes})
  code = (
    'import sys; sys.path.insert(0, sys.argv[1]); from launch import diff; sys.path.insert(0, sys.argv[2]); '
    'diff._export(sys.argv[3])'
  )
  with tempfile.TemporaryDirectory() as cwd:
    proc = subprocess.run(
      [sys.executable, '-P', '-c', code, here, tree, request], cwd=cwd, capture_output=True, text=True, timeout=300
    )
  if proc.returncode == EXIT_USAGE:
    raise UsageError(proc.stderr.strip().replace(tree + os.sep, prefix))
  if proc.returncode != 0:
    raise RuntimeError(f'reading {label} failed:\n{proc.stderr[-3000:]}')
  text = proc.stdout.split('\n@@EFFECTIVE@@\n', 1)[1].replace(tree + os.sep, prefix)
  doc = json.loads(text)
  return Side(label, doc['entries'], doc['shapes'])


def _export(request_json: str) -> None:
  """Child side of side_from_tree: prints the effective config of the request's tree as JSON."""
  req = json.loads(request_json)
  from launch import config_model as cm

  tree = req['tree']
  try:
    model = cm.load(req['files'], req['bindings'], [tree])
  except UsageError as e:
    print(e, file=sys.stderr)
    sys.exit(EXIT_USAGE)
  entries = effective(cm.to_json_dict(model)['bindings'], root=None, defaults=req['defaults'])  # absolute paths
  shapes = abstract_state(req['files'], req['bindings'], [tree]) if req.get('shapes') else None
  print('\n@@EFFECTIVE@@\n' + json.dumps({'entries': entries, 'shapes': shapes}))


def git_export(repo: str, rev: str, dest: str) -> None:
  """Writes the tree of `rev` into `dest` (git archive; nothing in the repo changes)."""
  check = subprocess.run(
    ['git', '-C', repo, 'rev-parse', '--verify', '--quiet', f'{rev}^{{commit}}'], capture_output=True
  )
  if check.returncode != 0:
    raise UsageError(f'{rev!r} is not a git revision of {repo} (try a branch, a tag, HEAD~1 or a commit hash).')
  archive = subprocess.run(['git', '-C', repo, 'archive', '--format=tar', rev], capture_output=True, check=True)
  subprocess.run(['tar', '-x', '-C', dest], input=archive.stdout, check=True)


def parse_side(spec: str, args, extra: list[str], tmp: str) -> Side:
  """A side: a workdir, `f1.gin[+f2.gin]`, or `REV:f1.gin[+f2.gin]`."""
  from launch.gin_args import repo_root

  repo = os.path.abspath(args.repo or repo_root())
  bindings = list(args.gin_bindings) + extra
  if os.path.isdir(spec):
    if extra or args.gin_bindings:
      raise UsageError(f'{spec}: bindings cannot be added to a workdir side; it is a record of a run.')
    return side_from_workdir(spec, args.defaults, args.shapes)
  rev = None
  if ':' in spec and not os.path.exists(spec):
    rev, spec = spec.split(':', 1)
  files = [f for f in spec.split('+') if f]
  if not files:
    raise UsageError('an empty side: give a workdir, gin files (a.gin+b.gin) or REV:a.gin.')
  if rev is not None:
    tree = os.path.join(tmp, f'rev{len(os.listdir(tmp))}')
    os.makedirs(tree)
    git_export(repo, rev, tree)
    return side_from_tree(tree, files, bindings, args.defaults, f'{rev}:', _label(files, bindings, rev), args.shapes)
  here = os.path.abspath(repo_root())
  if repo != here:
    return side_from_tree(repo, files, bindings, args.defaults, '', _label(files, bindings), args.shapes)
  for f in files:
    if not f.endswith('.gin') and not os.path.exists(f):
      raise UsageError(f'{f!r} is neither a workdir, a gin file nor REV:file.gin.')
  search = args.gin_search_path or [here]
  return side_from_gin(files, bindings, search, args.defaults, args.shapes)


# ----------------------------------------------------------------------------------------------------------------
# Comparison.


def canon(value):
  """A hashable normal form: numbers as floats (1 == 1.0 == 1e0), bools apart from numbers."""
  if isinstance(value, bool):
    return ('bool', value)
  if isinstance(value, (int, float)):
    return ('num', float(value))
  if isinstance(value, list):
    return ('seq', tuple(canon(v) for v in value))
  if isinstance(value, dict):
    return ('map', tuple(sorted((k, canon(v)) for k, v in value.items())))
  return (type(value).__name__, value)


def _shape_like(value) -> bool:
  """Values that usually determine parameter shapes: ints, bools, sequences, references, None."""
  if value is None or isinstance(value, (bool, int)) or isinstance(value, list):
    return True
  return isinstance(value, dict) and '@' in value


def _structural(value) -> Any:
  """What of an optimizer value shapes its state: strings and references fully, numbers only zero vs non-zero."""
  if isinstance(value, bool) or value is None:
    return value
  if isinstance(value, (int, float)):
    return value != 0
  if isinstance(value, list):
    return ('seq', len(value), tuple(canon(_structural(v)) for v in value))
  if isinstance(value, dict):
    return canon(value)
  return value


_MISSING = object()


def checkpoint_flags(kind: str, a, b) -> list[str]:
  """Symmetric in (a, b): the flags of a change from a to b (either may be _MISSING)."""
  if kind == 'model':
    if a is _MISSING or b is _MISSING or _shape_like(a) or _shape_like(b):
      return [BREAKS_SHAPES]
  if kind == 'optimizer':
    if a is _MISSING or b is _MISSING or canon(_structural(a)) != canon(_structural(b)):
      return [BREAKS_OPTIMIZER]
  return []


def compare(a: Side, b: Side, *, show_all: bool = False) -> list[dict]:
  """Changes from a to b, sorted by key. Each: {key, status, a, b, flags} (a/b None when the key is absent)."""
  out = []
  for key in sorted(set(a.entries) | set(b.entries)):
    if split_key(key)[2] in VOLATILE:
      continue
    ea, eb = a.entries.get(key), b.entries.get(key)
    if ea is not None and eb is not None:
      same = canon(ea['expanded']) == canon(eb['expanded'])
      status = 'equal' if same else 'changed'
    else:
      status = 'added' if ea is None else 'removed'
    if status == 'equal' and not show_all:
      continue
    flags = []
    if status != 'equal':
      kinds = {e['kind'] for e in (ea, eb) if e}
      va = ea['expanded'] if ea else _MISSING
      vb = eb['expanded'] if eb else _MISSING
      for kind in sorted(kinds):
        flags += [f for f in checkpoint_flags(kind, va, vb) if f not in flags]
      for name, e in (('A', ea), ('B', eb)):
        if e and not e['reached']:
          flags.append(UNREACHED.format(side=name))
      if ea and eb and type(ea['expanded']) is not type(eb['expanded']):
        ta, tb = type(ea['expanded']).__name__, type(eb['expanded']).__name__
        if {ta, tb} != {'int', 'float'}:
          flags.append(f'type {ta} -> {tb}')
    change = {'key': key, 'status': status, 'a': _show(ea, a), 'b': _show(eb, b), 'flags': flags}
    if not split_key(key)[2]:  # a macro: the parameters it feeds (on either side)
      change['reaches'] = sorted(set(macro_users(a.entries, key)) | set(macro_users(b.entries, key)))
    out.append(change)
  return out


def _show(entry, side: Side):
  if entry is None:
    return None
  text = entry['gin']
  value = entry['value']
  if isinstance(value, dict) and set(value) == {'%'}:
    text = f'{json_gin(entry["expanded"])} (%{value["%"]})'
  set_at = entry['set_at']
  if isinstance(value, dict) and set(value) == {'%'} and value['%'] in side.entries:
    set_at = f'%{value["%"]} at {side.entries[value["%"]]["set_at"]} (bound at {set_at})'
  return {'value': entry['expanded'], 'text': text, 'set_at': set_at, 'default': entry['default']}


def mirror(changes: list[dict]) -> list[dict]:
  """The diff seen from the other side: a <-> b, added <-> removed, A <-> B in flags."""
  swap = {'added': 'removed', 'removed': 'added'}
  flip = {
    UNREACHED.format(side='A'): UNREACHED.format(side='B'),
    UNREACHED.format(side='B'): UNREACHED.format(side='A'),
  }
  out = []
  for c in changes:
    flags = []
    for f in c['flags']:
      if f.startswith('type ') and ' -> ' in f:
        ta, tb = f[5:].split(' -> ')
        f = f'type {tb} -> {ta}'
      flags.append(flip.get(f, f))
    out.append({**c, 'status': swap.get(c['status'], c['status']), 'a': c['b'], 'b': c['a'], 'flags': flags})
  return out


# ----------------------------------------------------------------------------------------------------------------
# Output.

_MARK = {'changed': '~', 'added': '+', 'removed': '-', 'equal': ' '}


def summary(changes) -> str:
  n = {s: sum(c['status'] == s for c in changes) for s in ('changed', 'added', 'removed')}
  breaking = sum(any(f.startswith('checkpoint') for f in c['flags']) for c in changes)
  if not any(n.values()):
    return 'configs are equal'
  text = f'{n["changed"]} changed, {n["added"]} only in B, {n["removed"]} only in A'
  return text + (f'; {breaking} may break restoring a checkpoint' if breaking else '')


def render_terminal(a: Side, b: Side, changes, ckpt: dict | None = None) -> str:
  """A table of key | A | B, each row followed by where the value was set on each side and any warnings."""
  rows = [('', 'key', 'A', 'B')]
  for c in changes:
    rows.append(
      (
        _MARK[c['status']],
        c['key'],
        c['a']['text'] if c['a'] else '(unset)',
        c['b']['text'] if c['b'] else '(unset)',
      )
    )
  widths = [max(len(r[i]) for r in rows) for i in range(3)]
  lines = [f'A: {a.label}', f'B: {b.label}', '']
  for i, r in enumerate(rows):
    lines.append('  '.join([r[j].ljust(widths[j]) for j in range(3)] + [r[3]]).rstrip())
    if i:
      c = changes[i - 1]
      pad = ' ' * (widths[0] + 6)
      lines.append(f'{pad}A set at: {c["a"]["set_at"]}' if c['a'] else f'{pad}A: not set')
      lines.append(f'{pad}B set at: {c["b"]["set_at"]}' if c['b'] else f'{pad}B: not set')
      lines += [f'{pad}! {f}' for f in c['flags']]
      if c.get('reaches'):
        lines.append(f'{pad}reaches: {", ".join(c["reaches"])}')
  lines += ['', summary(changes)] + _checkpoint_lines(ckpt)
  return '\n'.join(lines) + '\n'


def _md(text: str) -> str:
  return text.replace('|', '\\|')


def _checkpoint_lines(ckpt) -> list[str]:
  if ckpt is None:
    return []
  if ckpt['compatible']:
    return ['checkpoint: parameters and optimizer state have the same shapes: checkpoints restore across A and B']
  problems = ckpt['problems']
  shown = [f'  {p}' for p in problems[:12]] + ([f'  ... and {len(problems) - 12} more'] if len(problems) > 12 else [])
  return ['checkpoint: restoring a checkpoint of one side into the other FAILS:'] + shown


def render_markdown(a: Side, b: Side, changes, ckpt: dict | None = None) -> str:
  lines = [
    '### Config diff',
    '',
    f'- **A**: `{a.label}`',
    f'- **B**: `{b.label}`',
    f'- {summary(changes)}',
    '',
  ]
  if changes:
    lines += ['| | key | A | B | set in A | set in B | notes |', '|---|---|---|---|---|---|---|']
    for c in changes:
      cells = [
        _MARK[c['status']].strip() or '=',
        f'`{c["key"]}`',
        f'`{_md(c["a"]["text"])}`' if c['a'] else '*(unset)*',
        f'`{_md(c["b"]["text"])}`' if c['b'] else '*(unset)*',
        _md(c['a']['set_at']) if c['a'] else '',
        _md(c['b']['set_at']) if c['b'] else '',
        '; '.join(
          (['**' + _md('; '.join(c['flags'])) + '**'] if c['flags'] else [])
          + ([f'reaches {", ".join(c["reaches"])}'] if c.get('reaches') else [])
        ),
      ]
      lines.append('| ' + ' | '.join(cells) + ' |')
  if ckpt is not None:
    lines += [''] + [
      f'**{_md(line.strip())}**' if i == 0 else f'- `{line.strip()}`' for i, line in enumerate(_checkpoint_lines(ckpt))
    ]
  return '\n'.join(lines) + '\n'


def render_json(a: Side, b: Side, changes, ckpt: dict | None = None) -> str:
  real = [c for c in changes if c['status'] != 'equal']
  doc = {'a': a.label, 'b': b.label, 'equal': not real, 'summary': summary(changes), 'changes': changes}
  if ckpt is not None:
    doc['checkpoint'] = ckpt
  return json.dumps(doc, indent=2, sort_keys=True) + '\n'


RENDER = {'terminal': render_terminal, 'markdown': render_markdown, 'json': render_json}


# ----------------------------------------------------------------------------------------------------------------
# Command line.


def _parser() -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(
    prog='launch diff',
    description='Semantic, key-by-key diff of two experiment configs (exit 0 equal, 1 different, 2 bad input).',
    epilog=__doc__.split('\n\n')[1],
    formatter_class=argparse.RawDescriptionHelpFormatter,
  )
  p.add_argument('sides', nargs='+', help='A B: workdirs, gin files (a.gin+b.gin) or REV:file.gin')
  p.add_argument('--format', choices=sorted(RENDER), default='terminal')
  p.add_argument('--all', action='store_true', help='list equal keys too')
  p.add_argument('--defaults', choices=['code', 'none'], default='code', help='include code defaults (default)')
  p.add_argument('--base', help='git revision for side A; the single positional gin file(s) are side B')
  p.add_argument('--head', help='git revision for side B with --base (default: the working tree)')
  p.add_argument('--a', action='append', default=[], metavar='BINDING', help='extra gin binding for side A')
  p.add_argument('--b', action='append', default=[], metavar='BINDING', help='extra gin binding for side B')
  p.add_argument('--gin_bindings', action='append', default=[], help='gin binding for both sides (also --gin.X=Y)')
  p.add_argument('--gin_search_path', action='append', default=[])
  p.add_argument(
    '--shapes',
    action='store_true',
    help='exact checkpoint check: gin sides are built with jax.eval_shape, workdirs read their latest checkpoint',
  )
  p.add_argument('--repo', help='git repository / tree the sides are read from (default: this checkout)')
  return p


def main(argv: list[str]) -> int:
  parser = _parser()
  try:
    args = parser.parse_args(argv)
  except SystemExit as e:  # argparse exits 2 on bad usage, 0 on --help
    return int(e.code or 0)
  try:
    return _run(args)
  except UsageError as e:
    print(f'launch diff: {e}', file=sys.stderr, flush=True)
    return EXIT_USAGE


def _run(args) -> int:
  if args.base:
    if len(args.sides) != 1:
      raise UsageError('with --base, give one side: the gin file(s) to compare at two revisions, e.g. a.gin+b.gin.')
    spec_a = f'{args.base}:{args.sides[0]}'
    spec_b = f'{args.head}:{args.sides[0]}' if args.head else args.sides[0]
  else:
    if len(args.sides) != 2:
      raise UsageError(f'expected two sides (A B), got {len(args.sides)}: {args.sides}')
    spec_a, spec_b = args.sides
  tmp = tempfile.mkdtemp(prefix='launch_diff_')
  try:
    a = parse_side(spec_a, args, args.a, tmp)
    b = parse_side(spec_b, args, args.b, tmp)
  finally:
    shutil.rmtree(tmp, ignore_errors=True)
  changes = compare(a, b, show_all=args.all)
  sys.stdout.write(RENDER[args.format](a, b, changes, checkpoint_report(a, b)))
  return 1 if any(c['status'] != 'equal' for c in changes) else 0
