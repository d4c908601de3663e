"""Command-line conveniences: the `--gin.X=Y` shorthand and gin-file lookup in search paths."""

import os

from launch.errors import UsageError


def rewrite_gin_shorthand(argv: list[str]) -> list[str]:
  """Turns `--gin.a.b=c` into `--gin_bindings=a.b=c` (t5x style), leaving every other argument alone.

  `--gin.SEED=3` binds the macro SEED; `--gin.train.num_steps=500` binds a parameter.
  """
  out = []
  for arg in argv:
    if arg.startswith('--gin.'):
      binding = arg[len('--gin.') :]
      name, eq, value = binding.partition('=')
      if not eq or not value.strip():
        raise UsageError(f'{arg}: the --gin.X=Y shorthand needs a value, e.g. --gin.train.num_steps=500')
      if not name.strip():
        raise UsageError(f'{arg}: the --gin.X=Y shorthand needs a name after --gin., e.g. --gin.train.num_steps=500')
      out.append(f'--gin_bindings={binding}')
    else:
      out.append(arg)
  return out


def find_gin_file(path: str, search_paths: list[str]) -> str:
  """Resolves `path` (absolute, or relative to a search path, or to the current directory)."""
  candidates = [path] if os.path.isabs(path) else [os.path.join(p, path) for p in search_paths] + [path]
  candidates = list(dict.fromkeys(os.path.abspath(c) for c in candidates))
  for candidate in candidates:
    if os.path.isfile(candidate):
      return os.path.abspath(candidate)
  for candidate in candidates:
    if os.path.isdir(candidate):
      inside = sorted(n for n in os.listdir(candidate) if n.endswith('.gin'))[:5]
      example = os.path.join(path, inside[0]) if inside else 'configs/baselines/digits_mlp.gin'
      holds = f'it holds {", ".join(inside)}' if inside else 'it holds no .gin file directly'
      raise UsageError(
        f'gin file {path!r} is a directory ({os.path.abspath(candidate)}; {holds}). Pass a .gin file, e.g. '
        f'--gin_file={example}'
      )
  searched = '\n  '.join(candidates)
  raise UsageError(
    f'gin file {path!r} not found. Searched:\n  {searched}\n'
    'Write paths relative to the repo root (e.g. configs/baselines/digits_mlp.gin) or pass --gin_search_path.'
  )


def repo_root() -> str:
  return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
