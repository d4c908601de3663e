"""The house rules on imports: common never imports projects or launch; projects never import each other;
gin is imported only in launch/ and tests/."""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _python_files(folder):
  return sorted(p for p in (ROOT / folder).rglob('*.py') if '.venv' not in p.parts)


def _imports(path: pathlib.Path) -> set[str]:
  tree = ast.parse(path.read_text(), filename=str(path))
  names = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      names |= {a.name for a in node.names}
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
      names.add(node.module)
  return names


def _violations(folder, bad):
  return [f'{p.relative_to(ROOT)} imports {m}' for p in _python_files(folder) for m in _imports(p) if bad(p, m)]


def test_common_imports_neither_projects_nor_launch():
  assert _violations('common', lambda p, m: m.split('.')[0] in ('projects', 'launch')) == []


def test_projects_do_not_import_each_other():
  def bad(path, module):
    parts = module.split('.')
    own = path.relative_to(ROOT / 'projects').parts[0]
    return parts[0] == 'projects' and len(parts) > 1 and parts[1] != own

  assert _violations('projects', bad) == []


@pytest.mark.parametrize('folder', ['common', 'projects', 'benchmarks'])
def test_gin_only_in_launch_and_tests(folder):
  if not (ROOT / folder).exists():
    pytest.skip(f'{folder}/ does not exist')
  assert _violations(folder, lambda p, m: m.split('.')[0] == 'gin') == []


def test_checker_catches_a_violation(tmp_path):
  bad = tmp_path / 'x.py'
  bad.write_text('import gin\nfrom projects.other import thing\n')
  assert _imports(bad) == {'gin', 'projects.other'}


def test_every_project_package_imports():
  """Guards against project rot: every projects/<p> package still imports."""
  import importlib

  for init in sorted((ROOT / 'projects').glob('*/__init__.py')):
    importlib.import_module(f'projects.{init.parent.name}')
