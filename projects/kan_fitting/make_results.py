"""Regenerates the kan_fitting results table (results.md) and the scaling plot (scaling.png).

Every number comes from a launcher run of a gin file in configs/kan_fitting/; the exact command is written next to
it. Runs go to <root>/<name>; an existing final_metrics.json is reused (delete the folder to rerun).

  .venv/bin/python -m projects.kan_fitting.make_results --root /tmp/kan_fitting [--steps 500]
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# formula -> KAN widths after the input (the paper's shapes: [1,1], [2,1,1], [2,2,1], [4,4,2,1]).
FORMULAS = {
  'bessel_j0': (1,),
  'exp_sin_plus_square': (1, 1),
  'xy': (2, 1),
  'exp_sin4': (4, 2, 1),
}
INPUT_DIM = {'bessel_j0': 1, 'exp_sin_plus_square': 2, 'xy': 2, 'exp_sin4': 4}
GRIDS = (3, 5, 10, 20)
MLP_SWEEP = (4, 8, 16, 32, 64)


def mlp_params(d: int, h: int) -> int:
  """Two hidden layers of width h, one output."""
  return d * h + h + h * h + h + h + 1


def matched_width(d: int, target: int) -> int:
  return min(range(1, 512), key=lambda h: abs(mlp_params(d, h) - target))


def launch(root: str, name: str, gin: str, bindings: dict[str, str]) -> tuple[dict, str]:
  workdir = os.path.join(root, name)
  args = [f'--gin_file=configs/kan_fitting/{gin}.gin', f'--workdir={workdir}']
  args += [f'--gin.{k}={v}' for k, v in bindings.items()]
  command = ' '.join(['.venv/bin/python -m launch'] + [f'"{a}"' if any(c in a for c in " ()'") else a for a in args])
  path = os.path.join(workdir, 'final_metrics.json')
  if not os.path.exists(path):
    print('+', command, flush=True)
    subprocess.run([sys.executable, '-m', 'launch', *args], check=True, stdout=subprocess.DEVNULL)
  with open(path) as f:
    return json.load(f), command


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument('--root', default='/tmp/kan_fitting')
  parser.add_argument('--steps', type=int, default=500, help='KAN steps per grid; MLPs get 4x (the same total).')
  args = parser.parse_args()
  steps = args.steps
  rows, scaling, commands = [], {}, []
  for formula, widths in FORMULAS.items():
    d = INPUT_DIM[formula]
    q = f"'{formula}'"
    kan, cmd = launch(
      args.root, f'kan_{formula}', 'grid_extension', {'FORMULA': q, 'WIDTHS': str(widths), 'NUM_STEPS': str(steps)}
    )
    commands.append(cmd)
    kan_pts = [(kan[f'num_params_grid{g}'], kan[f'rmse_grid{g}']) for g in GRIDS]
    h = matched_width(d, kan[f'num_params_grid{GRIDS[-1]}'])
    mlp, mcmd = launch(
      args.root, f'mlp_{formula}_h{h}', 'mlp', {'FORMULA': q, 'HIDDEN': f'({h}, {h})', 'NUM_STEPS': str(4 * steps)}
    )
    commands.append(mcmd)
    sweep = []
    for w in MLP_SWEEP:
      m, c = launch(
        args.root, f'mlp_{formula}_h{w}', 'mlp', {'FORMULA': q, 'HIDDEN': f'({w}, {w})', 'NUM_STEPS': str(4 * steps)}
      )
      sweep.append((m['num_params'], m['rmse']))
      commands.append(c)
    scaling[formula] = (kan_pts, sweep)
    rows.append((formula, [d, *widths], kan_pts, (h, mlp['num_params'], mlp['rmse']), cmd, mcmd))

  lines = [
    f'KAN: B-spline k=3, grids {GRIDS} by extension, {steps} Adam steps per grid (lr 1e-2, cosine per phase). '
    f'MLP: SiLU, two hidden layers of width h, {4 * steps} steps, same optimizer. 1000 train / 1000 test points, '
    'seed 0. Test RMSE.',
    '',
    '| formula | KAN shape | ' + ' | '.join(f'KAN G={g} (params)' for g in GRIDS) + ' | MLP equal params (h, params) |',
    '|---|---|' + '---|' * len(GRIDS) + '---|',
  ]
  for formula, shape, kan_pts, (h, mp, mr), _, _ in rows:
    cells = ' | '.join(f'{r:.2e} ({p})' for p, r in kan_pts)
    lines.append(f'| {formula} | {shape} | {cells} | {mr:.2e} (h={h}, {mp}) |')
  lines += ['', 'Commands (each writes final_metrics.json in its workdir):', '']
  lines += [f'    {c}' for c in commands]
  with open(os.path.join(HERE, 'results.md'), 'w') as f:
    f.write('\n'.join(lines) + '\n')
  print('\n'.join(lines))
  plot(scaling, os.path.join(HERE, 'scaling.png'))


def plot(scaling, path: str) -> None:
  import matplotlib

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  fig, axes = plt.subplots(1, len(scaling), figsize=(4 * len(scaling), 3.4), squeeze=False)
  for ax, (formula, (kan_pts, sweep)) in zip(axes[0], scaling.items()):
    kp, kr = zip(*kan_pts)
    mp, mr = zip(*sweep)
    ax.loglog(kp, kr, 'o-', label='KAN (G=3,5,10,20)')
    ax.loglog(mp, mr, 's--', label='MLP (width sweep)')
    ref = [kr[0] * (p / kp[0]) ** -4 for p in kp]
    ax.loglog(kp, ref, ':', color='gray', label='N^-4')
    ax.set_title(formula)
    ax.set_xlabel('parameters')
    ax.set_ylabel('test RMSE')
    ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=90)
  plt.close(fig)


if __name__ == '__main__':
  main()
