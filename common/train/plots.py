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
  from matplotlib.backends.backend_agg import FigureCanvasAgg
  from matplotlib.figure import Figure

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
  # The object API (no pyplot state) and fixed margins instead of tight_layout: a vmapped run draws one figure per
  # seed, and tight_layout's text measurement was most of a figure's cost. For the same reason the title sits at a
  # fixed height (its automatic placement measures the tick labels again) and the axes get few ticks (every tick
  # is a handful of artists): about 0.27 -> 0.19 s per figure.
  from matplotlib.ticker import MaxNLocator, NullLocator

  fig = Figure(figsize=(4 * len(series), 3))
  FigureCanvasAgg(fig)
  axes = fig.subplots(1, len(series), squeeze=False)
  fig.subplots_adjust(left=0.6 / (4 * len(series)) + 0.02, right=0.98, bottom=0.17, top=0.88, wspace=0.3)
  for ax, (metric, by_split) in zip(axes[0], sorted(series.items())):
    for split, (xs, ys) in sorted(by_split.items()):
      ax.plot(xs, ys, marker='.' if len(xs) < 30 else None, label=split)
    ax.set_title(metric, fontsize=9, y=1.0, pad=4)
    ax.set_xlabel('step', fontsize=8)
    ax.tick_params(labelsize=7)
    ax.xaxis.set_major_locator(MaxNLocator(5))
    if metric == 'loss' and all(v > 0 for _, ys in by_split.values() for v in ys):
      ax.set_yscale('log')
      ax.yaxis.set_minor_locator(NullLocator())
    else:
      ax.yaxis.set_major_locator(MaxNLocator(5))
    ax.legend(fontsize=7)
  fig.savefig(png_path, dpi=80)
  return png_path
