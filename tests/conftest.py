"""Shared test set-up: CPU only, a TFDS data dir per pytest-xdist worker (the digits builder prepares once per
worker, so two workers never race on the same files), repo on sys.path."""

import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault('JAX_PLATFORMS', 'cpu')
_TFDS_ROOT = os.environ.get('TFDS_DATA_DIR', os.path.join(tempfile.gettempdir(), 'brainnets-test-tfds'))
os.environ['TFDS_DATA_DIR'] = os.path.join(_TFDS_ROOT, os.environ.get('PYTEST_XDIST_WORKER', 'main'))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)
