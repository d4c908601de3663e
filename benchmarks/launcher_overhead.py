"""The launcher's own overhead: seconds from process start to the first finished training step.

Runs `python -m launch` on the default experiment for a few steps in a fresh process and reports the time to
the first step (process start, imports, gin, data, model init, compile) with the compile time shown
separately (the loop measures the first step, which compiles, on its own).
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks.harness import Row

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def measure_once() -> tuple[float, float]:
  with tempfile.TemporaryDirectory() as workdir:
    t0 = time.time()
    subprocess.run(
      [
        sys.executable,
        '-m',
        'launch',
        '--gin_file=configs/baselines/digits_mlp.gin',
        '--gin.NUM_STEPS=5',
        f'--workdir={workdir}/run',
      ],
      cwd=ROOT,
      check=True,
      capture_output=True,
    )
    final = json.load(open(os.path.join(workdir, 'run', 'final_metrics.json')))
  return final['first_step_unix_time'] - t0, final['compile_seconds']


# Runs the launcher in this interpreter and reports, at exit, whether the training process imported TensorFlow.
_TF_PROBE = """
import atexit, sys
atexit.register(lambda: print('TENSORFLOW_IMPORTED=%s' % ('tensorflow' in sys.modules), file=sys.stderr))
sys.argv = ['launch'] + sys.argv[1:]
import runpy
runpy.run_module('launch', run_name='__main__', alter_sys=True)
"""


def tensorflow_imported() -> bool:
  """Whether a training run of the default experiment (5 steps, fresh process) imports TensorFlow."""
  with tempfile.TemporaryDirectory() as workdir:
    out = subprocess.run(
      [
        sys.executable,
        '-c',
        _TF_PROBE,
        '--gin_file=configs/baselines/digits_mlp.gin',
        '--gin.NUM_STEPS=5',
        f'--workdir={workdir}/run',
      ],
      cwd=ROOT,
      check=True,
      capture_output=True,
      text=True,
    )
  return 'TENSORFLOW_IMPORTED=True' in out.stderr


def run(quick: bool = False) -> list[Row]:
  measure_once()  # warm-up: prepares the digits dataset if this data_dir lacks it, so no sample pays for that
  samples = [measure_once() for _ in range(1 if quick else 3)]
  to_first = statistics.median(s[0] for s in samples)
  compile_s = statistics.median(s[1] for s in samples)
  imports_tf = tensorflow_imported()
  return [
    Row(
      'launcher: process start -> first step (digits_mlp)',
      to_first * 1e3,
      note=f'of which first-step compile {compile_s:.2f} s; median of {len(samples)} fresh processes; '
      f'TensorFlow imported: {imports_tf}',
      extra={'seconds_to_first_step': to_first, 'compile_seconds': compile_s, 'tensorflow_imported': imports_tf},
    )
  ]
