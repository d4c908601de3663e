"""Shared test set-up: CPU only, a TFDS data dir per pytest-xdist worker (the digits builder prepares once per
worker, so two workers never race on the same files), repo on sys.path, and JAX's persistent compilation cache
(shared by the workers and every `launch` subprocess a test starts: the capability matrix and the config smoke
tests compile the same programs several times, and a cached executable is the same program, so results do not
change)."""

import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault('JAX_PLATFORMS', 'cpu')
_TFDS_ROOT = os.environ.get('TFDS_DATA_DIR', os.path.join(tempfile.gettempdir(), 'brainnets-test-tfds'))
os.environ['TFDS_DATA_DIR'] = os.path.join(_TFDS_ROOT, os.environ.get('PYTEST_XDIST_WORKER', 'main'))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
os.environ.setdefault('JAX_COMPILATION_CACHE_DIR', os.path.join(_TFDS_ROOT, 'jax-compilation-cache'))
os.environ.setdefault('JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS', '0')
os.environ.setdefault('JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES', '0')
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)


# The slowest files first: with two xdist workers a long test that starts last leaves the other worker idle until it
# ends (the capability matrix's tests take 30-130 s each on 2 cores; most others take seconds).
_SLOW_FIRST = ('tests/foundation/test_capabilities.py', 'tests/foundation/test_every_config.py')


def pytest_collection_modifyitems(items):
  def rank(item):
    path = os.path.relpath(str(item.fspath), ROOT)
    return _SLOW_FIRST.index(path) if path in _SLOW_FIRST else len(_SLOW_FIRST)

  items.sort(key=rank)  # stable: the order within each group is kept
