"""Mazes: train on one maze size, then test on that size and on larger mazes than any seen in training.

Entry point (gin: ENTRY_POINT = @experiment.run). Training is common/train/loop.train on a MazeTask. Afterwards the
final parameters are restored and, for the training size and every size in `eval_sizes`, a fixed set of
`eval_mazes` test mazes (generator seed stream of the task's evaluation set) is scored two ways:

  size{S}_step_accuracy, size{S}_route_accuracy
      one application: the first L moves at the selected tick against the route truncated to L moves (what the
      training loss sees; for mazes larger than the training ones this is the first L moves of a longer route)
  size{S}_solved, size{S}_solved_first, size{S}_mean_applications, size{S}_mean_ticks
      the paper's generalisation test (common/ctm/maze_solve.py): the model is re-applied from where its route
      ended until it reaches the end (at most `max_applications` times, `fault_tolerance` invalid moves per
      application); solved_first is the fraction solved by one application, mean_applications / mean_ticks
      (applications x T) are over the solved mazes.
  size{S}_mean_route_length, size{S}_longer_than_head
      route length in moves, and the fraction of routes longer than the L-move head.

How larger mazes get longer routes: the model is unchanged (the backbone is convolutional and the attention takes
any number of tokens, with no positional embedding as in the reference's maze config), and a route longer than L
moves is produced by re-applying the model, each application T more ticks. This is the paper's approach (its
analysis re-applies a 39x39-trained model to 99x99 mazes); the alternatives, a longer route head or more ticks per
application, would need a head or a tick budget that the trained model does not have.

The metrics are added to final_metrics.json; generalisation.json holds, per size, each test maze's route length,
whether it was solved and how many applications it took (for the plot of solved rate against route length).
"""

from typing import Any, Sequence

import jax
import numpy as np

from common.ctm import maze_solve
from common.ctm.maze_task import MazeTask, eval_seed, maze_set
from common.train import loop
from common.train.errors import ConfigurationError


def evaluate_size(model, variables, task: MazeTask, size: int, num: int, max_applications: int, fault_tolerance: int):
  """Scores `num` test mazes of `size` pixels. Returns (metrics dict, per-maze dict of lists)."""
  data = maze_set(num, size, task.route_length, eval_seed(task.data_seed))
  solve = jax.jit(
    lambda v, images: maze_solve.solve(
      lambda x: model.apply(v, x, train=False),
      images,
      task.route_length,
      max_applications=max_applications,
      fault_tolerance=fault_tolerance,
      use_most_certain=task.use_most_certain,
      expand_range=task.expand_range,
    )
  )
  parts = [
    jax.device_get(solve(variables, data['images'][i : i + task.eval_batch_size]))
    for i in range(0, num, task.eval_batch_size)
  ]
  out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
  solved, apps, lengths = out['solved'], out['applications'], data['route_lengths']
  correct = out['first_route'] == data['routes']  # the first application's moves at the selected tick
  ticks = apps * _iterations(model)
  metrics = {
    'step_accuracy': float(correct.mean()),
    'route_accuracy': float(correct.all(-1).mean()),
    'solved': float(solved.mean()),
    'solved_first': float(out['solved_first'].mean()),
    'mean_applications': float(apps[solved].mean()) if solved.any() else float('nan'),
    'mean_ticks': float(ticks[solved].mean()) if solved.any() else float('nan'),
    'mean_route_length': float(lengths.mean()),
    'longer_than_head': float((lengths > task.route_length).mean()),
  }
  per_maze = {'route_length': lengths.tolist(), 'solved': solved.tolist(), 'applications': apps.tolist()}
  return metrics, per_maze


def _iterations(model) -> int:
  return int(getattr(model, 'iterations', 1))


def run(
  *,
  model,
  task: MazeTask,
  optimizer,
  num_steps: int,
  seed: int,
  workdir: str,
  dry_run: bool = False,
  eval_sizes: Sequence[int] = (15, 21),
  eval_mazes: int = 512,
  max_applications: int = 20,
  fault_tolerance: int = 2,
  log_every: int = 100,
  eval_every: int = 500,
  checkpoint_every: int = 500,
  xla_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
  """Trains with loop.train, then adds the per-size test metrics (module docstring) to the final metrics of every
  seed of a vmapped multi-seed run (launch --seeds, sweeps with --vmap_trials)."""
  if eval_mazes < 1:
    raise ConfigurationError(f'experiment.run.eval_mazes={eval_mazes} must be at least 1.')
  if max_applications < 1:
    raise ConfigurationError(f'experiment.run.max_applications={max_applications} must be at least 1.')
  for size in eval_sizes:
    if size < 5 or size % 2 == 0:
      raise ConfigurationError(f'experiment.run.eval_sizes contains {size}: maze sizes must be odd and at least 5.')
  finals = loop.train(
    model=model,
    task=task,
    optimizer=optimizer,
    num_steps=num_steps,
    seed=seed,
    workdir=workdir,
    dry_run=dry_run,
    log_every=log_every,
    eval_every=eval_every,
    checkpoint_every=checkpoint_every,
    xla_options=xla_options,
  )
  if dry_run:
    return finals

  def analyse(state, final, member_dir):
    variables = {'params': state['params'], **state['model_state']}
    report = {'route_length': task.route_length, 'iterations': _iterations(model), 'sizes': {}}
    metrics = {}
    for size in (task.maze_size,) + tuple(s for s in eval_sizes if s != task.maze_size):
      size_metrics, per_maze = evaluate_size(
        model, variables, task, size, eval_mazes, max_applications, fault_tolerance
      )
      metrics.update({f'size{size}_{k}': v for k, v in size_metrics.items()})
      report['sizes'][str(size)] = {'metrics': size_metrics, **per_maze}
    return metrics, {'generalisation.json': report}

  # Every seed of a vmapped run (launch --seeds / --vmap_trials) is analysed in its own workdir.
  return loop.analyse_trained(
    finals, analyse, model=model, task=task, optimizer=optimizer, num_steps=num_steps, seed=seed, workdir=workdir
  )
