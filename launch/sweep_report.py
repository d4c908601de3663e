"""The end of a sweep: a results table (swept keys + final metrics) as Markdown and CSV, and a plot of one
metric against each swept axis. Reads only ROOT/<trial id>/trial.json, so it works for trials run anywhere.

  ROOT/results.md    ROOT/results.csv    ROOT/results.png
"""

import csv
import io
import os

from launch import trials as trials_lib

PREFERRED = ('accuracy', 'loss', 'rmse')
NOT_METRICS = ('compile_seconds', '_unix_time')  # timings and timestamps, not results


def rows(root: str, trials, keys) -> tuple[list[str], list[list[str]], list[dict]]:
  """Header, text rows and per-trial records (trial.json, or {'status': 'not run'})."""
  records = [trials_lib.read(trials_lib.workdir(root, t)) or {'status': 'not run'} for t in trials]
  metrics = sorted(k for k in {k for r in records for k in r.get('final', {})} if not k.endswith(NOT_METRICS))
  header = ['#', 'id', *keys, 'status', *metrics]
  out = []
  for t, r in zip(trials, records):
    final = r.get('final', {})
    out.append(
      [str(t.index), t.id, *(t.text(k) for k in keys), r.get('status', '?')]
      + [f'{final[m]:.6g}' if m in final else '' for m in metrics]
    )
  return header, out, records


def to_markdown(header, body) -> str:
  lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
  lines += ['| ' + ' | '.join(c.replace('|', '\\|') for c in r) + ' |' for r in body]
  return '\n'.join(lines) + '\n'


def to_csv(header, body) -> str:
  buf = io.StringIO()
  writer = csv.writer(buf, lineterminator='\n')
  writer.writerow(header)
  writer.writerows(body)
  return buf.getvalue()


def choose_metric(records, metric: str) -> str | None:
  present = {k for r in records for k in r.get('final', {})}
  if metric:
    return metric if metric in present else None
  return next((m for m in PREFERRED if m in present), None)


def plot(path: str, trials, keys, records, metric: str) -> bool:
  """One panel per swept key: the metric of every finished trial against that key's value."""
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  done = [(t, r['final'][metric]) for t, r in zip(trials, records) if metric in r.get('final', {})]
  if not done or not keys:
    return False
  fig, axes = plt.subplots(1, len(keys), figsize=(3.6 * len(keys), 3.0), squeeze=False)
  for ax, key in zip(axes[0], keys):
    xs = [dict(t.values).get(key) for t, _ in done]
    ys = [y for _, y in done]
    numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in xs)
    if numeric:
      ax.scatter(xs, ys)
      positive = [x for x in xs if x > 0]
      if len(positive) == len(xs) and max(xs) / min(xs) >= 8:
        ax.set_xscale('log')
    else:
      labels = sorted({t.text(key) for t, _ in done})
      ax.scatter([labels.index(t.text(key)) for t, _ in done], ys)
      ax.set_xticks(range(len(labels)), labels, rotation=30, fontsize=7)
    ax.set_xlabel(key.rpartition('/')[2][-30:], fontsize=8)
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
  fig.tight_layout()
  fig.savefig(path, dpi=90)
  plt.close(fig)
  return True


def write(root: str, trials, keys, metric: str = '') -> list[str]:
  """Writes results.md, results.csv and (when a metric is available) results.png; returns their paths."""
  header, body, records = rows(root, trials, keys)
  paths = []
  for name, text in (('results.md', to_markdown(header, body)), ('results.csv', to_csv(header, body))):
    path = os.path.join(root, name)
    with open(path, 'w') as f:
      f.write(text)
    paths.append(path)
  chosen = choose_metric(records, metric)
  png = os.path.join(root, 'results.png')
  if chosen and plot(png, trials, keys, records, chosen):
    paths.append(png)
  return paths
