"""TensorBoard HParams for every run, written with the TF-free event writer (metrics.EventFile), so that
`tensorboard --logdir=<sweep root>` compares the runs under a root in its HParams dashboard.

  <workdir>/tensorboard/events...   the session: the hparams plugin's SessionStartInfo (the run's hyperparameters)
                                    and, when the run ends, SessionEndInfo (its status) and the Experiment
                                    (hyperparameter and metric infos)

TensorBoard's hparams plugin treats a run directory holding a SessionStartInfo as a session and reads a metric
(group, tag) from the scalar `tag` in the sub-run `<session>/<group>`. The metrics listed are the final metrics,
which the run engine writes as scalars under the split 'final' (<workdir>/tensorboard/final), and the same names
in the split 'eval' when the run logged them there (the last evaluation). Hyperparameters are the run's scalar
bindings (numbers, strings, booleans) and the keys a sweep varies (a non-scalar swept value, e.g. a tuple of layer
widths, as its gin text). Names are the shortest unambiguous suffix of each config key (`MLP.hidden` for
`common.models.mlp.MLP.hidden`; macros keep their names).

Choice: each finished run writes the Experiment itself (TensorBoard takes the first one it finds under the logdir),
because a run only knows its metric names when it ends; while no run has finished, TensorBoard derives the
experiment from the sessions' hyperparameters and every scalar tag. Protos are built with the plugin's own
summary_v2.hparams_pb (it needs no TensorFlow) and its protos.
"""

import os
import time
from typing import Any, Mapping, Sequence

SESSION_DIR = 'tensorboard'
FINAL_SPLIT, EVAL_SPLIT = 'final', 'eval'
# Final-metric keys that are bookkeeping, not results (not listed as HParams metrics).
BOOKKEEPING = ('step', 'compile_seconds', 'seconds')
STATUSES = ('success', 'failure', 'running', 'unknown')  # TensorBoard's api_pb2.Status


def short_names(keys: Sequence[str], among: Sequence[str]) -> dict[str, str]:
  """Each key's shortest dotted suffix (at least `Class.param` for a parameter) that no other key in `among` ends
  with; a scope prefix (`eval/`) is kept. E.g. 'common.models.mlp.MLP.hidden' -> 'MLP.hidden'."""
  among = sorted(set(among) | set(keys))
  names = {}
  for key in keys:
    scope, _, bare = key.rpartition('/')
    parts = bare.split('.')
    names[key] = key
    for n in range(min(2, len(parts)), len(parts) + 1):
      suffix = '.'.join(parts[-n:])
      candidate = f'{scope}/{suffix}' if scope else suffix
      if [k for k in among if ends_with(k, candidate)] == [key]:
        names[key] = candidate
        break
  return names


def ends_with(key: str, suffix: str) -> bool:
  """Whether config key `key` is `suffix` or ends with it at a dot or scope boundary."""
  return key == suffix or key.endswith('.' + suffix) or key.endswith('/' + suffix)


def _scalar(value: Any) -> bool:
  return isinstance(value, (bool, int, float, str))


def hparams_of(bindings: Mapping[str, Mapping[str, Any]], swept: Sequence[str] = ()) -> dict[str, bool | float | str]:
  """The run's hyperparameters: name -> value, from the resolved config's bindings (config/resolved.json's
  'bindings': key -> {'value', 'gin'}) and the swept keys (as written in the sweep; matched by suffix)."""
  chosen = {k for k, b in bindings.items() if _scalar(b.get('value'))}
  for key in swept:
    chosen |= {k for k in bindings if ends_with(k, key)}
  names = short_names(sorted(chosen), list(bindings))
  out = {}
  for key in sorted(chosen):
    value = bindings[key].get('value')
    out[names[key]] = value if _scalar(value) else str(bindings[key].get('gin', value))
  return out


def _summary(tag: str, plugin_data):
  from tensorboard.compat.proto import summary_pb2
  from tensorboard.plugins.hparams import metadata

  summary = summary_pb2.Summary()
  summary.value.add(tag=tag, metadata=metadata.create_summary_metadata(plugin_data), tensor=metadata.NULL_TENSOR)
  return summary


def _write(workdir: str, *summaries) -> None:
  from common.train import metrics as metrics_lib  # here: `launch report` uses short_names without importing JAX

  events = metrics_lib.EventFile(os.path.join(workdir, SESSION_DIR))
  try:
    for summary in summaries:
      events.summary(0, summary)
  finally:
    events.close()


def write_session_start(
  workdir: str, bindings: Mapping[str, Mapping[str, Any]], swept: Sequence[str] = (), *, start_time: float | None = None
) -> dict[str, bool | float | str]:
  """Writes the run's SessionStartInfo into <workdir>/tensorboard; returns the hyperparameters written."""
  from tensorboard.plugins.hparams import summary_v2

  hparams = hparams_of(bindings, swept)
  _write(workdir, summary_v2.hparams_pb(hparams, start_time_secs=time.time() if start_time is None else start_time))
  return hparams


def metric_tags(workdir: str, final: Mapping[str, Any]) -> list[tuple[str, str]]:
  """(group, tag) of every metric the HParams table shows: numeric final metrics (bookkeeping and timestamps left
  out) in the split 'final', and in the split 'eval' those the run's last evaluation logged. A multi-seed run's
  list of finals gives the names of its first member's."""
  if isinstance(final, (list, tuple)):
    final = final[0] if final else {}
  names = sorted(
    k
    for k, v in final.items()
    if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in BOOKKEEPING and not k.endswith('_time')
  )
  from common.train import metrics as metrics_lib

  evaluated = set()
  jsonl = os.path.join(workdir, 'metrics.jsonl')
  if os.path.isfile(jsonl):
    for row in metrics_lib.read_jsonl(jsonl):
      if row.get('split') == EVAL_SPLIT:
        evaluated = set(row)
  return [(FINAL_SPLIT, k) for k in names] + [(EVAL_SPLIT, k) for k in names if k in evaluated]


def write_session_end(
  workdir: str,
  bindings: Mapping[str, Mapping[str, Any]],
  swept: Sequence[str] = (),
  final: Mapping[str, Any] | None = None,
  *,
  status: str = 'success',
) -> None:
  """Writes SessionEndInfo(status) and the Experiment (hyperparameter infos, metric infos) into
  <workdir>/tensorboard. status: 'success', 'failure', 'running' or 'unknown' (TensorBoard has no status for a
  run a study pruned: the launcher writes 'failure' for it)."""
  from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

  if status not in STATUSES:
    raise ValueError(f'status={status!r}: one of {STATUSES}')
  hparams = hparams_of(bindings, swept)
  types = {bool: api_pb2.DATA_TYPE_BOOL, str: api_pb2.DATA_TYPE_STRING}
  experiment = api_pb2.Experiment(time_created_secs=time.time())
  for name in sorted(hparams):
    experiment.hparam_infos.add(name=name, type=types.get(type(hparams[name]), api_pb2.DATA_TYPE_FLOAT64))
  for group, tag in metric_tags(workdir, final or {}):
    experiment.metric_infos.add(name=api_pb2.MetricName(group=group, tag=tag))
  code = api_pb2.Status.Value(f'STATUS_{status.upper()}')
  end = plugin_data_pb2.SessionEndInfo(status=code, end_time_secs=time.time())
  _write(
    workdir,
    _summary(metadata.SESSION_END_INFO_TAG, plugin_data_pb2.HParamsPluginData(session_end_info=end)),
    _summary(metadata.EXPERIMENT_TAG, plugin_data_pb2.HParamsPluginData(experiment=experiment)),
  )
