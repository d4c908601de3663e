"""Continual-learning metrics from the accuracy matrix, and its heatmap.

acc[i, j] is the accuracy on task j after training on tasks 0..i (T x T; entries j > i measure zero-shot
transfer). `baseline[j]` is the accuracy on task j of the model before any training (for forward transfer).
Definitions follow Lopez-Paz & Ranzato (GEM, 2017) and Chaudhry et al. (2018):

  ACC        = mean_j acc[T-1, j]
  BWT        = mean_{j<T-1} (acc[T-1, j] - acc[j, j])          negative = forgetting
  FWT        = mean_{j>0} (acc[j-1, j] - baseline[j])
  forgetting = mean_{j<T-1} (max_{i<T-1} acc[i, j] - acc[T-1, j])
"""

import numpy as np


def continual_metrics(acc: np.ndarray, baseline: np.ndarray | None = None) -> dict[str, float]:
  """ACC, BWT, FWT (when baseline is given) and forgetting of a (T, T) accuracy matrix (T >= 1)."""
  acc = np.asarray(acc, np.float64)
  t = acc.shape[0]
  if acc.shape != (t, t):
    raise ValueError(f'accuracy matrix must be square (T, T); got shape {acc.shape}.')
  out = {'acc': float(acc[-1].mean()), 'learning_acc': float(np.diag(acc).mean())}
  if t > 1:
    out['bwt'] = float(np.mean(acc[-1, :-1] - np.diag(acc)[:-1]))
    out['forgetting'] = float(np.mean(acc[:-1, :-1].max(axis=0) - acc[-1, :-1]))
    if baseline is not None:
      out['fwt'] = float(np.mean([acc[j - 1, j] - baseline[j] for j in range(1, t)]))
  else:
    out['bwt'] = out['forgetting'] = 0.0
  return out


def plot_accuracy_matrix(acc: np.ndarray, png_path: str, title: str = '') -> str:
  """Draws acc[i, j] as a heatmap (rows: after training task i; columns: evaluated task j)."""
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  acc = np.asarray(acc)
  t = acc.shape[0]
  fig, ax = plt.subplots(figsize=(1.0 + 0.45 * t, 0.8 + 0.45 * t))
  im = ax.imshow(acc, vmin=0.0, vmax=1.0, cmap='viridis')
  if t <= 12:
    for i in range(t):
      for j in range(t):
        color = 'w' if acc[i, j] < 0.6 else 'k'
        ax.text(j, i, f'{100 * acc[i, j]:.0f}', ha='center', va='center', fontsize=7, color=color)
  ax.set_xlabel('evaluated task j')
  ax.set_ylabel('after training task i')
  ax.set_xticks(range(t))
  ax.set_yticks(range(t))
  ax.set_title(title or 'accuracy matrix')
  fig.colorbar(im, ax=ax, fraction=0.046)
  fig.tight_layout()
  fig.savefig(png_path, dpi=90)
  plt.close(fig)
  return png_path
