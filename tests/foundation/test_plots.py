"""curves.png: runs drawn in one reused figure (a vmapped run's members) look exactly as if each had its own."""

import json

import numpy as np
from PIL import Image

from common.train.plots import plot_curves, plot_runs


def _write(path, scale):
  rows = []
  for step in range(10, 310, 10):
    rows.append({'step': step, 'split': 'train', 'loss': scale / step, 'accuracy': 1 - scale / step})
    if step % 100 == 0:
      rows.append({'step': step, 'split': 'eval', 'loss': 2 * scale / step, 'accuracy': 0.5})
  rows.append({'step': 300, 'split': 'final', 'loss': 1.0})
  path.write_text(''.join(json.dumps(r) + '\n' for r in rows))
  return str(path)


def test_a_reused_figure_draws_each_run_as_its_own_figure(tmp_path):
  a, b = _write(tmp_path / 'a.jsonl', 1.0), _write(tmp_path / 'b.jsonl', 7.0)
  assert plot_runs([(a, str(tmp_path / 'ra.png')), (b, str(tmp_path / 'rb.png'))]) == [
    str(tmp_path / 'ra.png'), str(tmp_path / 'rb.png'),
  ]  # fmt: skip
  plot_curves(b, str(tmp_path / 'own_b.png'))
  reused, own = (np.asarray(Image.open(tmp_path / f)) for f in ('rb.png', 'own_b.png'))
  np.testing.assert_array_equal(reused, own)
  assert not np.array_equal(reused, np.asarray(Image.open(tmp_path / 'ra.png')))  # b's data, not a's


def test_missing_metrics_give_no_png(tmp_path):
  assert plot_runs([(str(tmp_path / 'none.jsonl'), str(tmp_path / 'x.png'))]) == [None]
  assert not (tmp_path / 'x.png').exists()
