"""Few-shot continual streams and a held-out few-shot probe that wraps any learner.

few_shot_stream: the classes are shuffled by the seed; the last `held_out_classes` never appear in training; the
others are cut into `num_tasks` tasks of `ways` classes (task-incremental: each task's logits are masked to its
classes, the scenario of split_stream(scenario='task')). Task t trains on `shots` examples per class, drawn by
the seed from the train split, and is evaluated on every eval-split example of its classes.
The held-out part is `probe_episodes` few-shot episodes: `probe_ways` held-out classes, `shots` support examples per
class from the train split (a fresh draw per episode) and the eval-split examples of those classes as queries.

FewShotProbe wraps a learner: after every task (end_task) it measures how well the network learns a new task
from a few examples. Starting from `learner.generalization_params(state, params)` (the trained weights for most
learners, the slow weights for FastSlow), every episode runs `steps` full-batch SGD steps on its support set
(all parameters, masked cross-entropy) and is scored on its queries; the mean over episodes is logged as
'few_shot_accuracy' with each evaluation row (learner diagnostics). The wrapped learner is otherwise unchanged.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from common.continual import objective
from common.continual import streams as streams_lib
from common.continual.learners import Learner
from common.data import pipeline
from common.train.errors import ConfigurationError

tmap = jax.tree_util.tree_map


@dataclasses.dataclass(frozen=True)
class FewShotStream(streams_lib.TaskStream):
  """A TaskStream plus held-out few-shot episodes.

  probe_support_inputs (E, ways * shots, ...)  probe_support_targets (E, ways * shots)
  probe_query_inputs   (E, Q, ...)             probe_query_targets   (E, Q)   probe_query_weight (E, Q) (0 = pad)
  probe_masks          (E, C) bool             the classes of each episode
  """

  probe_support_inputs: np.ndarray | None = None
  probe_support_targets: np.ndarray | None = None
  probe_query_inputs: np.ndarray | None = None
  probe_query_targets: np.ndarray | None = None
  probe_query_weight: np.ndarray | None = None
  probe_masks: np.ndarray | None = None

  def probe_arrays(self) -> dict[str, np.ndarray]:
    return {
      'support_inputs': self.probe_support_inputs,
      'support_targets': self.probe_support_targets,
      'query_inputs': self.probe_query_inputs,
      'query_targets': self.probe_query_targets,
      'query_weight': self.probe_query_weight,
      'masks': self.probe_masks,
    }


def _pick_shots(split, classes, shots: int, rng: np.random.Generator, where: str):
  """`shots` random examples of each class in `classes` (class-major order)."""
  idx = []
  for c in classes:
    members = np.flatnonzero(split['targets'] == c)
    if len(members) < shots:
      raise ConfigurationError(
        f'few_shot_stream.shots={shots} but class {c} has only {len(members)} {where} examples; lower shots.'
      )
    idx.append(rng.choice(members, shots, replace=False))
  idx = np.concatenate(idx)
  return {k: v[idx] for k, v in split.items()}


def few_shot_stream(
  data: pipeline.ArrayDataset,
  *,
  num_tasks: int = 4,
  ways: int = 2,
  shots: int = 10,
  held_out_classes: int = 2,
  probe_episodes: int = 10,
  probe_ways: int | None = None,
  seed: int = 0,
) -> FewShotStream:
  """A few-shot task-incremental stream over `data` plus held-out episodes (module docstring).

  Args:
    data: e.g. pipeline.load_tfds('sklearn_digits', scale=1/16) (10 classes).
    num_tasks, ways: T tasks of `ways` classes each; T * ways + held_out_classes must not exceed the classes.
    shots: training examples per class (5-20 in the few-shot protocol).
    held_out_classes: classes kept out of training for the probe (>= probe_ways), or 0 for no probe episodes.
    probe_episodes: few-shot episodes drawn over the held-out classes.
    probe_ways: classes per episode (default `ways`).
    seed: the class order and every draw of examples.
  """
  c = streams_lib._num_classes(data)
  for name, value in (('num_tasks', num_tasks), ('ways', ways), ('shots', shots)):
    if value < 1:
      raise ConfigurationError(f'few_shot_stream.{name}={value} must be at least 1.')
  probe_ways = ways if probe_ways is None else probe_ways
  if held_out_classes and not (2 <= probe_ways <= held_out_classes and probe_episodes >= 1):
    raise ConfigurationError(
      f'few_shot_stream.held_out_classes={held_out_classes} must be 0 or at least probe_ways={probe_ways} >= 2, '
      f'with probe_episodes >= 1 (got {probe_episodes}).'
    )
  if num_tasks * ways + held_out_classes > c:
    raise ConfigurationError(
      f'few_shot_stream: num_tasks={num_tasks} x ways={ways} + held_out_classes={held_out_classes} exceeds the {c} '
      'classes of the data; lower one of them.'
    )
  rng = np.random.default_rng([seed, 5])
  order = rng.permutation(c)
  held_out = order[c - held_out_classes :] if held_out_classes else order[:0]
  train, evals, masks = [], [], []
  for t in range(num_tasks):
    classes = order[t * ways : (t + 1) * ways]
    train.append(_pick_shots(data.train, classes, shots, rng, 'train'))
    evals.append({k: v[np.isin(data.eval['targets'], classes)] for k, v in data.eval.items()})
    masks.append(np.isin(np.arange(c), classes))
  base = streams_lib._stack(f'few_shot_{shots}', train, evals, np.stack(masks), c, 'task')
  probe = {}
  if held_out_classes:
    support, query, probe_masks = [], [], []
    for _ in range(probe_episodes):
      classes = np.sort(rng.choice(held_out, probe_ways, replace=False))
      support.append(_pick_shots(data.train, classes, shots, rng, 'train'))
      query.append({k: v[np.isin(data.eval['targets'], classes)] for k, v in data.eval.items()})
      probe_masks.append(np.isin(np.arange(c), classes))
    q_max = max(len(q['targets']) for q in query)
    pad = lambda v: np.concatenate([v, np.zeros((q_max - len(v),) + v.shape[1:], v.dtype)])  # noqa: E731
    probe = {
      'probe_support_inputs': np.stack([s['inputs'] for s in support]).astype(np.float32),
      'probe_support_targets': np.stack([s['targets'] for s in support]).astype(np.int32),
      'probe_query_inputs': np.stack([pad(q['inputs']) for q in query]).astype(np.float32),
      'probe_query_targets': np.stack([pad(q['targets']) for q in query]).astype(np.int32),
      'probe_query_weight': np.stack([pad(np.ones(len(q['targets']), np.float32)) for q in query]),
      'probe_masks': np.stack(probe_masks),
    }
  fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(streams_lib.TaskStream)}
  return FewShotStream(**fields, **probe)


def few_shot_adapt_accuracy(model, params, model_state, episode, *, steps: int, learning_rate: float) -> jax.Array:
  """Query accuracy after `steps` full-batch SGD steps on one episode's support set, starting from `params`."""
  n = episode['support_targets'].shape[0]
  support = {
    'inputs': episode['support_inputs'],
    'targets': episode['support_targets'],
    'mask': jnp.broadcast_to(episode['masks'], (n, episode['masks'].shape[-1])),
  }

  def loss(p):
    logits = model.apply({'params': p, **model_state}, support['inputs'], train=False)
    return objective.classification_loss(logits, support)[0]

  def sgd(p, _):
    return tmap(lambda w, g: w - learning_rate * g, p, jax.grad(loss)(p)), None

  adapted, _ = jax.lax.scan(sgd, params, None, length=steps)
  q = episode['query_targets'].shape[0]
  query = {
    'targets': episode['query_targets'],
    'mask': jnp.broadcast_to(episode['masks'], (q, episode['masks'].shape[-1])),
    'weight': episode['query_weight'],
  }
  logits = model.apply({'params': adapted, **model_state}, episode['query_inputs'], train=False)
  return objective.classification_loss(logits, query)[1]['accuracy']


@dataclasses.dataclass
class FewShotProbe(Learner):
  """Wraps `learner` and measures held-out few-shot learning after every task (module docstring).

  Attributes:
    learner: the continual learner being evaluated (fine-tuning, EWC, Joint, FastSlow, ...).
    steps: SGD steps on each episode's support set.
    learning_rate: their step size.
  """

  learner: Learner = dataclasses.field(default_factory=Learner)
  steps: int = 20
  learning_rate: float = 0.1

  def __post_init__(self):
    if self.steps < 0 or not self.learning_rate > 0:
      raise ConfigurationError(
        f'FewShotProbe: steps={self.steps} must be >= 0 and learning_rate={self.learning_rate} positive.'
      )

  @property
  def name(self):
    return self.learner.name

  @property
  def needs_boundaries(self):
    return True

  def validate(self, stream):
    if not isinstance(stream, FewShotStream) or stream.probe_masks is None:
      raise ConfigurationError(
        'FewShotProbe needs held-out episodes: build the stream with few_shot.few_shot_stream(held_out_classes>0).'
      )
    self.learner.validate(stream)

  def init(self, params, stream, key):
    self._probe = stream.probe_arrays()  # numpy constants of the jitted end_task (a few hundred small images)
    return {'inner': self.learner.init(params, stream, key), 'few_shot_accuracy': jnp.zeros(())}

  def penalty(self, params, state):
    return self.learner.penalty(params, state['inner'])

  def gradient_transformation(self):
    return self.learner.gradient_transformation()

  def post_transformation(self):
    return self.learner.post_transformation()

  def transform_args(self, state):
    return self.learner.transform_args(state['inner'])

  def train_batch(self, arrays, state, key, step, task, batch_size):
    return self.learner.train_batch(arrays, state['inner'], key, step, task, batch_size)

  def observe_batch(self, state, *, model, params, model_state, batch, task):
    inner = self.learner.observe_batch(
      state['inner'], model=model, params=params, model_state=model_state, batch=batch, task=task
    )
    return {**state, 'inner': inner}

  def after_step(self, state, grads, old_params, new_params):
    return {**state, 'inner': self.learner.after_step(state['inner'], grads, old_params, new_params)}

  def end_task(self, state, *, model, params, model_state, arrays, task, key):
    inner = self.learner.end_task(
      state['inner'], model=model, params=params, model_state=model_state, arrays=arrays, task=task, key=key
    )
    start = generalization_params(self.learner, inner, params)
    accuracy = jax.vmap(
      lambda ep: few_shot_adapt_accuracy(
        model, start, model_state, ep, steps=self.steps, learning_rate=self.learning_rate
      )
    )(self._probe)
    return {'inner': inner, 'few_shot_accuracy': jnp.mean(accuracy)}

  def diagnostics(self, state):
    inner = self.learner.diagnostics(state['inner'])
    return {**inner, 'few_shot_accuracy': state['few_shot_accuracy']}


def generalization_params(learner: Learner, state, params):
  """The weights a learner offers for learning a new task: `learner.generalization_params` if it has one."""
  fn = getattr(learner, 'generalization_params', None)
  return fn(state, params) if fn is not None else params
