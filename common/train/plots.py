"""The small PNG of a run's curves: one panel per metric, train and eval overlaid."""

import os

from common.train.metrics import read_jsonl


def plot_curves(
  jsonl_path: str, png_path: str, *, skip=('steps_per_sec', 'learning_rate'), splits_skip=('final',)
) -> str | None:
  """Draws every metric in metrics.jsonl against step (rows of `splits_skip` left out: the one-point final row).
  Returns the PNG path, or None if there is nothing."""
  if not os.path.exists(jsonl_path):
    return None
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  rows = read_jsonl(jsonl_path)
  series: dict[str, dict[str, tuple[list, list]]] = {}
  for row in rows:
    if row.get('split') in splits_skip:
      continue
    for key, value in row.items():
      if key in ('step', 'split') or key in skip:
        continue
      xs, ys = series.setdefault(key, {}).setdefault(row['split'], ([], []))
      xs.append(row['step'])
      ys.append(value)
  if not series:
    return None
  fig, axes = plt.subplots(1, len(series), figsize=(4 * len(series), 3), squeeze=False)
  for ax, (metric, by_split) in zip(axes[0], sorted(series.items())):
    for split, (xs, ys) in sorted(by_split.items()):
      ax.plot(xs, ys, marker='.' if len(xs) < 30 else None, label=split)
    ax.set_title(metric)
    ax.set_xlabel('step')
    if metric == 'loss' and all(v > 0 for _, ys in by_split.values() for v in ys):
      ax.set_yscale('log')
    ax.legend()
  fig.tight_layout()
  fig.savefig(png_path, dpi=80)
  plt.close(fig)
  return png_path
