"""A real 2-process run of the streaming task: jax.distributed processes take their index and count from JAX and
read disjoint halves whose union is the 1-process global batch."""

import os
import socket
import subprocess
import sys

import numpy as np

from common.data import preprocess, streaming, streaming_task

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_READER = """
import sys
import jax
import numpy as np
jax.distributed.initialize(f'localhost:{sys.argv[1]}', num_processes=2, process_id=int(sys.argv[2]))
from common.data import preprocess, streaming, streaming_task
digits = preprocess.Normalize(scale=1 / 16)
task = streaming_task.StreamingClassificationTask(
  data=streaming.TFDSStream('sklearn_digits'), batch_size=32, train_transform=digits, eval_transform=digits
)
it = task.train_iterator(seed=4)  # process index and count from jax
batches = [next(it) for _ in range(3)]
np.savez(sys.argv[3], index=jax.process_index(), **{f'{k}{s}': b[k] for s, b in enumerate(batches) for k in b})
"""


def test_two_jax_processes_read_their_halves_of_the_global_batch(tmp_path):
  with socket.socket() as s:
    s.bind(('localhost', 0))
    port = s.getsockname()[1]
  env = {**os.environ, 'JAX_PLATFORMS': 'cpu', 'PYTHONPATH': ROOT}
  procs = [
    subprocess.Popen(
      [sys.executable, '-c', _READER, str(port), str(p), str(tmp_path / f'p{p}.npz')],
      cwd=ROOT,
      env=env,
      stdout=subprocess.PIPE,
      stderr=subprocess.STDOUT,
      text=True,
    )
    for p in range(2)
  ]
  for proc in procs:
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
  halves = [np.load(tmp_path / f'p{p}.npz') for p in range(2)]
  assert [int(h['index']) for h in halves] == [0, 1]
  digits = preprocess.Normalize(scale=1 / 16)
  task = streaming_task.StreamingClassificationTask(
    data=streaming.TFDSStream('sklearn_digits'), batch_size=32, train_transform=digits, eval_transform=digits
  )
  whole = task.train_iterator(seed=4, process_index=0, process_count=1)
  for step in range(3):
    batch = next(whole)
    for k in ('inputs', 'targets'):
      assert halves[0][f'{k}{step}'].shape[0] == 16
      np.testing.assert_array_equal(np.concatenate([h[f'{k}{step}'] for h in halves]), batch[k])
