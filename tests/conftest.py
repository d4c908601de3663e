"""Shared test set-up: CPU only, one shared TFDS data dir (the digits builder prepares once), repo on sys.path."""

import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault('JAX_PLATFORMS', 'cpu')
os.environ.setdefault('TFDS_DATA_DIR', os.path.join(tempfile.gettempdir(), 'brainnets-test-tfds'))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)
