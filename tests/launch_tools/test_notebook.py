"""notebooks/explore_runs.ipynb runs headless (nbclient, a fresh ipykernel) against a tiny root made here: it loads
the runs with the report API, plots curves, restores the best run's checkpoint and checks its eval metrics."""

import os

from launch import api
from launch.gin_args import repo_root

ROOT = repo_root()
TINY = 'tests/launch_tools/data/tiny_fit.gin'
NOTEBOOK = os.path.join(ROOT, 'notebooks', 'explore_runs.ipynb')


def test_explore_runs_notebook_executes(tmp_path, monkeypatch):
  import nbformat
  from nbclient import NotebookClient

  monkeypatch.chdir(ROOT)
  for lr in ('0.01', '0.03'):
    api.execute([TINY], ['NUM_STEPS = 6', f'LEARNING_RATE = {lr}'], workdir=str(tmp_path / f'lr{lr}'))
  monkeypatch.setenv('BRAINNETS_RUNS', str(tmp_path))
  nb = nbformat.read(NOTEBOOK, as_version=4)
  NotebookClient(nb, timeout=300, kernel_name='python3', resources={'metadata': {'path': ROOT}}).execute()
  text = '\n'.join(o.get('text', '') for c in nb.cells for o in c.get('outputs', []))
  assert '| LEARNING_RATE | n | loss | num_params | rmse |' in text
  assert 'restored {' in text  # the last cell asserts the restored eval equals final_metrics.json
  assert any(o.get('output_type') == 'display_data' for c in nb.cells for o in c.get('outputs', []))  # the plot
