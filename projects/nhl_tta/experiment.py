"""Train a source model on clean data, then adapt it online to corrupted test streams: the NHL protocol as one run.

A short loop on the run engine (common/train/engine.py), one global step axis:
  steps 1 .. S          the source model trains on the clean task (common.train.loop's train step; S = source_steps);
  steps S+1 .. S+D*K    online test-time adaptation: for every domain d (a corruption at a severity, from
                        common/continual/corruptions.py) the adapter restarts from the source model (reset per
                        domain, TENT's CIFAR-10-C protocol) and takes its K unlabelled test batches in the stream's
                        order, adapting and then predicting each (common/continual/adaptation.py: Adaptation.step;
                        a domain is one lax.scan).
The source state is checkpointed at the end of training and the adaptation state (the source model plus the
per-domain results so far, in the checkpoint's JSON meta) after every domain, so a killed run resumes where it
stopped and the resumed run is bitwise the one that never stopped. A vmapped multi-seed run trains one source model
per seed and gives every seed its own corruption noise and stream order.

Final metrics: source_accuracy (clean test split), online_accuracy (mean over domains), online_accuracy_<corruption>
and online_accuracy_sev<severity> (means over the other axis), mean_entropy.
"""

from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from common.continual import corruptions as corruptions_lib
from common.train import engine, loop
from common.train import state as state_lib
from common.train.errors import ConfigurationError


def run(
  *,
  model,
  task,
  optimizer: Callable[[int], optax.GradientTransformation],
  adaptation: Callable,
  source_steps: int,
  seed: int,
  workdir: str,
  dry_run: bool = False,
  corruptions: Sequence[str] = corruptions_lib.CORRUPTIONS,
  severities: Sequence[int] = (1, 3, 5),
  adapt_batch_size: int = 32,
  log_every: int = 100,
  checkpoint_every: int = 500,
  xla_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
  """Source training then online adaptation (module docstring).

  Args:
    model: the source model (e.g. common/continual/tta_model.TTACNN), called as model(inputs, train=bool).
    task: the clean in-memory classification task the source model trains on; its eval split is corrupted.
    optimizer: the source training's optimizer factory.
    adaptation: the adapter factory, gin `@adaptation.Adaptation` (unevaluated): called here with model=model.
    source_steps: source training steps.
    corruptions, severities: the domains, corruptions outer and severities inner.
    adapt_batch_size: test examples per online step (the remainder of a domain is dropped).
    log_every, checkpoint_every: cadences of the source training (adaptation logs and saves every domain).
  """
  if source_steps < 1:
    raise ConfigurationError(f'run.source_steps={source_steps} must be at least 1.')
  engine.check_cadences('run', log_every=log_every, checkpoint_every=checkpoint_every)
  adapter = adaptation(model=model)
  data = task.data
  num_eval = len(data.eval['targets'])
  if not 1 <= adapt_batch_size <= num_eval:
    raise ConfigurationError(f'run.adapt_batch_size={adapt_batch_size} must be between 1 and {num_eval}.')
  names = [f'{c}@{s}' for c in corruptions for s in severities]
  per_domain = num_eval // adapt_batch_size
  total = source_steps + len(names) * per_domain
  run_ = engine.Run(seed=seed, workdir=workdir, dry_run=dry_run, total_steps=total, xla_options=xla_options)
  tx = optimizer(source_steps)

  def build(key):
    return state_lib.create_state(state_lib.init_variables(model, task.init_inputs(), key), tx)

  if run_.dry_run:
    corruptions_lib.corruption_stream(_tiny(data), corruptions=corruptions, severities=severities)  # checks names
    return run_.dry_run_result(run_.build(build), num_domains=len(names))

  # 1. The source model: trained (or resumed) unless the run already stopped inside the adaptation phase.
  latest = run_.latest_step()
  template = run_.build(build)
  no_domain = jnp.zeros((len(run_.seeds),) if run_.vmapped else (), jnp.int32)
  if latest is None or latest <= source_steps:
    state = _train_source(run_, model, task, tx, run_.resume(template), source_steps, log_every, checkpoint_every)
    adapt_state = {'source': {'params': state['params'], 'model_state': state['model_state']}, 'domain': no_domain}
  else:
    like = {'source': {'params': template['params'], 'model_state': template['model_state']}, 'domain': no_domain}
    adapt_state = run_.resume(run_.place(like))
  source = adapt_state['source']
  source_eval = run_.evaluate(loop.make_eval_step(model, task), source['params'], source['model_state'],
                              [run_.place(b, per_member=False) for b in task.eval_batches()])  # fmt: skip

  # 2. Online adaptation, one domain at a time, each from the source model.
  streams = [corruptions_lib.corruption_stream(data, corruptions=corruptions, severities=severities, seed=s)
             for s in run_.seeds]  # fmt: skip
  n = per_domain * adapt_batch_size
  shape = (len(names), per_domain, adapt_batch_size)
  domains = run_.place(run_.stack([{
    'inputs': s.inputs[:, :n].reshape(shape + s.inputs.shape[2:]), 'targets': s.targets[:, :n].reshape(shape)}
    for s in streams]))  # fmt: skip
  results = run_.meta.get('domains', [[] for _ in run_.seeds])

  def adapt_domain(source, batches):
    def body(s, batch):
      s, _, metrics = adapter.step(s, batch)
      return s, metrics

    _, metrics = jax.lax.scan(body, adapter.init(source['params'], source['model_state']), batches)
    return {'online_accuracy': jnp.mean(metrics['accuracy']), 'entropy': jnp.mean(metrics['entropy'])}

  adapt = run_.jit(lambda source, all_batches, d: adapt_domain(source, jax.tree_util.tree_map(lambda x: x[d],
                                                                                             all_batches)),
                   member_axes=(0, 0, None))  # fmt: skip
  first = int(run_.members_of(adapt_state['domain'])[0])
  for d in range(first, len(names)):
    rows = [{k: float(v) for k, v in m.items()} for m in run_.members_of(adapt(adapt_state['source'], domains, d))]
    step = source_steps + (d + 1) * per_domain
    run_.log_rows(step, 'adapt', [{**r, 'domain': d} for r in rows], show='online_accuracy')
    for i, r in enumerate(rows):
      results[i].append({'domain': names[d], **r})
    adapt_state = {**adapt_state, 'domain': run_.place(jnp.full_like(adapt_state['domain'], d + 1))}
    run_.meta = {'domains': results}
    run_.save(step, adapt_state, probe=adapt_state['source']['params'])

  finals = []
  for clean, res in zip(source_eval, results):
    final = {'step': total, 'source_accuracy': clean['accuracy'], 'source_loss': clean['loss']}
    final['online_accuracy'] = float(np.mean([r['online_accuracy'] for r in res]))
    final['mean_entropy'] = float(np.mean([r['entropy'] for r in res]))
    for c in corruptions:
      final[f'online_accuracy_{c}'] = float(np.mean([r['online_accuracy'] for r in res if r['domain'].startswith(c)]))
    for s in severities:
      final[f'online_accuracy_sev{s}'] = float(
        np.mean([r['online_accuracy'] for r in res if r['domain'].endswith(f'@{s}')])
      )
    finals.append(final)
  run_.write_json('domains.json', results)
  return run_.finish(finals, plot_skip=('domain',))


def _train_source(run, model, task, tx, state, num_steps, log_every, checkpoint_every):
  """The source phase: loop.train's step, metrics, checkpoints (global steps 1 .. num_steps)."""
  one_step = loop.make_train_step(model, task, tx, None if run.vmapped else run.mesh)
  step_fn = run.jit(loop.accumulating(one_step), member_axes=(0, 0, None, 0, 0), donate_argnums=(0, 1))
  arrays = run.place(task.train_arrays(), per_member=False)
  data_key, dropout_key = run.place((run.key('data'), run.key('dropout')))
  shapes = jax.eval_shape(run.jit(one_step, member_axes=(0, None, 0, 0)), state, arrays, data_key, dropout_key)[1]
  zeros = lambda: run.place(jax.tree_util.tree_map(lambda s: np.zeros(s.shape, s.dtype), shapes))  # noqa: E731
  sums, since = zeros(), 0
  for step in range(run.start_step + 1, num_steps + 1):
    state, sums = step_fn(state, sums, arrays, data_key, dropout_key)
    since += 1
    if step == run.start_step + 1:
      run.first_step_done(step, state)
    if step % log_every == 0 or step == num_steps:
      run.log(step, 'train', sums, divide=since)
      sums, since = zeros(), 0
    if step % checkpoint_every == 0 or step == num_steps:
      run.save(step, state)
  return state


def _tiny(data):
  """Two examples of the eval split: enough to check the corruption names in a dry run."""
  from common.data import pipeline

  return pipeline.ArrayDataset(
    train={k: v[:2] for k, v in data.train.items()}, eval={k: v[:2] for k, v in data.eval.items()}
  )
