"""Parses the experiment into gin (after validation) and returns the configured entry point."""

import re

import gin

from launch import experiment
from launch.errors import UsageError

_WIRING = """
from __gin__ import dynamic_registration
from launch import experiment
experiment.run.entry_point = %ENTRY_POINT
"""


def parse(gin_files: list[str], bindings: list[str], search_paths: list[str]):
  """Parses files and bindings into gin, locks the config, and returns the configured entry function."""
  gin.clear_config(clear_constants=True)
  for path in search_paths:
    gin.add_config_file_search_path(path)
  try:
    gin.parse_config_files_and_bindings(gin_files, bindings, finalize_config=False, skip_unknown=False)
    gin.parse_config(_WIRING)
    gin.finalize()
  except (ValueError, NameError, KeyError, TypeError, SyntaxError, OSError, RuntimeError) as e:
    raise UsageError(f'gin could not parse the config: {_tidy(e)}') from None
  try:
    return gin.get_configurable(experiment.run)()
  except (ValueError, NameError, TypeError, RuntimeError) as e:
    raise UsageError(f'gin could not build the entry point: {_tidy(e)}') from None


def _tidy(error: Exception) -> str:
  return re.sub(r'\n\s*\n', '\n', str(error)).strip()


def operative_config() -> str:
  return gin.operative_config_str()


def bindings_of(fn) -> dict:
  """The parsed config's bindings of configurable `fn` (references to other configurables called as gin calls
  them), for tools that build an experiment's parts without running its entry point (benchmarks)."""
  return gin.get_bindings(fn)
