"""The small PNG of a run's curves: one panel per metric, train and eval overlaid."""

import os

from common.train.metrics import read_jsonl

SKIP = ('steps_per_sec', 'learning_rate')


def plot_curves(jsonl_path: str, png_path: str, *, skip=SKIP, splits_skip=('final',)) -> str | None:
  """Draws every metric in metrics.jsonl against step (rows of `splits_skip` left out: the one-point final row).
  Returns the PNG path, or None if there is nothing."""
  return plot_runs([(jsonl_path, png_path)], skip=skip, splits_skip=splits_skip)[0]


def plot_runs(paths: list[tuple[str, str]], *, skip=SKIP, splits_skip=('final',)) -> list[str | None]:
  """plot_curves for several runs, e.g. the members of a vmapped run. Runs whose curves have the same layout (the
  same metrics, splits, number of points and scales) share one figure whose lines get each run's data: building a
  figure costs about as much as drawing it."""
  out, figure, layout = [], None, None
  for jsonl_path, png_path in paths:
    series = _series(jsonl_path, skip, splits_skip)
    if not series:
      out.append(None)
      continue
    this = _layout(series)
    if this != layout:
      figure, layout = _Figure(series), this
    figure.draw(series, png_path)
    out.append(png_path)
  return out


def _series(jsonl_path: str, skip, splits_skip) -> dict[str, dict[str, tuple[list, list]]]:
  """{metric: {split: (steps, values)}} from a metrics.jsonl ({} when it is missing)."""
  if not os.path.exists(jsonl_path):
    return {}
  series: dict[str, dict[str, tuple[list, list]]] = {}
  for row in read_jsonl(jsonl_path):
    if row.get('split') in splits_skip:
      continue
    for key, value in row.items():
      if key in ('step', 'split') or key in skip:
        continue
      xs, ys = series.setdefault(key, {}).setdefault(row['split'], ([], []))
      xs.append(row['step'])
      ys.append(value)
  return series


def _log_scale(metric: str, by_split) -> bool:
  return metric == 'loss' and all(v > 0 for _, ys in by_split.values() for v in ys)


def _layout(series) -> tuple:
  return tuple(
    (metric, _log_scale(metric, by_split), tuple((split, len(xs)) for split, (xs, _) in sorted(by_split.items())))
    for metric, by_split in sorted(series.items())
  )


class _Figure:
  """One figure for a curve layout. The object API (no pyplot state) and fixed margins instead of tight_layout
  (its text measurement was most of a figure's cost); the title at a fixed height (its automatic placement measures
  the tick labels again) and few ticks (every tick is a handful of artists): about 0.27 -> 0.19 s a figure, and
  0.13 s for each further run drawn in the same figure."""

  def __init__(self, series):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, NullLocator

    self.fig = Figure(figsize=(4 * len(series), 3))
    FigureCanvasAgg(self.fig)
    axes = self.fig.subplots(1, len(series), squeeze=False)
    self.fig.subplots_adjust(left=0.6 / (4 * len(series)) + 0.02, right=0.98, bottom=0.17, top=0.88, wspace=0.3)
    self.lines = {}
    for ax, (metric, by_split) in zip(axes[0], sorted(series.items())):
      for split, (xs, ys) in sorted(by_split.items()):
        (self.lines[metric, split],) = ax.plot(xs, ys, marker='.' if len(xs) < 30 else None, label=split)
      ax.set_title(metric, fontsize=9, y=1.0, pad=4)
      ax.set_xlabel('step', fontsize=8)
      ax.tick_params(labelsize=7)
      ax.xaxis.set_major_locator(MaxNLocator(5))
      if _log_scale(metric, by_split):
        ax.set_yscale('log')
        ax.yaxis.set_minor_locator(NullLocator())
      else:
        ax.yaxis.set_major_locator(MaxNLocator(5))
      ax.legend(fontsize=7)
    self.fresh = True

  def draw(self, series, png_path: str) -> None:
    if not self.fresh:  # a later run: its data into the same lines, the axes rescaled to it
      for (metric, split), line in self.lines.items():
        line.set_data(*series[metric][split])
      for ax in self.fig.axes:
        ax.relim()
        ax.autoscale_view()
    self.fresh = False
    self.fig.savefig(png_path, dpi=80)
