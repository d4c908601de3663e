"""The run engine: one owner for the life of every run, under every entry point.

A loop (supervised steps, a task sequence, a phase schedule, an online learner, a scoring pass) is a short function
on top of a `Run`, in big_vision's spirit:

  run = engine.Run(seed=seed, workdir=workdir, dry_run=dry_run, total_steps=num_steps, xla_options=xla_options)
  state = run.build(lambda key: state_lib.create_state(init(key), tx))  # a dry run: shapes + the parameter table
  if run.dry_run:
    return run.dry_run_result(state)
  state = run.resume(state)                          # bitwise resume from the latest checkpoint; run.start_step
  step = run.jit(train_step, donate_argnums=(0,))    # vmapped over the run's seeds when it has several
  for s in range(run.start_step + 1, num_steps + 1):
    state, metrics = step(state, ...)
    run.log(s, 'train', metrics)                     # NaN stop, metrics.jsonl, TensorBoard, console progress
    run.save(s, state)                               # orbax, async and atomic
  return run.finish(final)                           # final_metrics.json, curves.png, TensorBoard split 'final'

What it owns, so no loop keeps a copy:
- key streams: `run.key(name)` is fold_in(PRNGKey(seed), id) with stable ids (STREAMS), so adding a stream never
  moves another;
- the device mesh over every process's devices (`run.mesh`; the state and shared arrays are replicated on it with
  `run.place`, and a loop's step splits its batch over the 'data' axis with `run.shard_batch`);
- checkpoints: `<workdir>/checkpoints/<step>/` holds the state (orbax StandardSave) and a small JSON `meta` item
  for a loop's host-side bookkeeping (a phase schedule's finished-phase metrics, an input iterator's position), both
  written by one async, atomic save;
- metrics through MetricWriter (metrics.jsonl, TensorBoard, console), the progress bar and its compile time;
- the finiteness stop: a non-finite logged metric, or a non-finite parameter at a save, raises TrainingDiverged
  (the launcher exits 3) naming the step, the metric and the last good checkpoint, which is kept intact;
- final_metrics.json and curves.png, written by process 0 only, and xla_options for every compiled step.

Seeds as a vmapped axis. The launcher's `--seeds=0,1,2` (or a sweep's `--vmap_trials`) enters `members(seeds,
workdirs)` before it calls the entry point. Every Run created inside then trains all those seeds as ONE program:
its keys and state gain a leading member axis, `run.jit` vmaps the loop's per-seed step over it (the member axis
is sharded over the local devices when it divides evenly), and each member writes to its own workdir exactly what
a single-seed run writes there (config, metrics, TensorBoard, checkpoints, final metrics, curves). Host-side values
are per member through `run.members_of(tree)`. Everything gin builds is shared by the members: only the seed (and,
for loops that support it, numbers the optimizer reads; `run.member_values`) differ, which the launcher checks.

Fault injection for the capability tests (tests/foundation/test_capabilities.py): the environment variable
BRAINNETS_FAULT=kill@N SIGKILLs the process at the first host boundary (a log or a save) at or after step N, and
BRAINNETS_FAULT=nan@N turns the first finiteness check at or after step N into a non-finite loss. Unset, nothing
changes.
"""

import contextlib
import contextvars
import dataclasses
import functools
import json
import math
import os
import signal
import sys
from typing import Any, Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from common.train import sharding
from common.train import state as state_lib
from common.train.checkpoint import Checkpointer
from common.train.errors import ConfigurationError, TrainingDiverged
from common.train.metrics import MetricWriter
from common.train.plots import plot_runs
from common.train.progress import Progress

# fold_in ids of the key streams: stable, so adding a stream never changes the others. Loops may use any other
# small integer for a private stream, but names here are shared on purpose (the params of a seed are the same
# whichever loop builds them).
STREAMS = {
  'params': 0,
  'data': 1,
  'dropout': 2,
  'learner': 3,
  'consolidate': 4,
  'order': 5,
  'shift': 6,
  'regulate': 7,
  'adapt': 8,
  'eval': 9,
}
FAULT_ENV = 'BRAINNETS_FAULT'


@dataclasses.dataclass(frozen=True)
class Members:
  """The seeds one vmapped run trains, each member's workdir, and per-member entry-point values (optional)."""

  seeds: tuple[int, ...]
  workdirs: tuple[str, ...]
  values: tuple[Mapping[str, Any], ...] = ()


_MEMBERS: contextvars.ContextVar[Members | None] = contextvars.ContextVar('brainnets_members', default=None)


@contextlib.contextmanager
def members(seeds: Sequence[int], workdirs: Sequence[str], values: Sequence[Mapping[str, Any]] = ()):
  """Within this context every Run trains `seeds` as one vmapped program, member i writing to workdirs[i].

  `values[i]` maps entry-point argument names to member i's value, for loops that accept per-member values of an
  argument (Run.member_values), e.g. the supervised loop's optimizer factory.
  """
  if len(seeds) != len(workdirs) or (values and len(values) != len(seeds)):
    raise ValueError('members: one workdir (and one values dict, if any) per seed')
  if len(set(seeds)) != len(seeds):
    raise ConfigurationError(f'--seeds={list(seeds)} repeats a seed; every member needs its own.')
  token = _MEMBERS.set(Members(tuple(int(s) for s in seeds), tuple(workdirs), tuple(values)))
  try:
    yield
  finally:
    _MEMBERS.reset(token)


def member_runs(seed: int, workdir: str) -> list[tuple[int, str]]:
  """[(seed, workdir)] of every member a Run created here would train (one pair outside `members`)."""
  m = _MEMBERS.get()
  return [(int(seed), workdir)] if m is None else list(zip(m.seeds, m.workdirs))


def as_list(finals) -> list[dict]:
  """An entry point's return value as one final-metrics dict per member (a single-seed run gives one)."""
  return list(finals) if isinstance(finals, list) else [finals]


def write_json(path: str, obj) -> None:
  """Writes JSON atomically (temporary file + rename): a killed process never leaves half a file."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  tmp = f'{path}.tmp{os.getpid()}'
  with open(tmp, 'w') as f:
    json.dump(obj, f, indent=2, default=_json_default)
  os.replace(tmp, path)


def _json_default(x):
  x = np.asarray(x)
  return x.item() if x.ndim == 0 else x.tolist()


def check_xla_options(options: Mapping[str, Any] | None) -> dict[str, Any] | None:
  """Returns `options` if XLA accepts them (compiling a trivial program), else raises ConfigurationError."""
  if not options:
    return None
  options = dict(options)
  try:
    jax.jit(lambda x: x + 1, compiler_options=options).lower(jnp.zeros(())).compile()
  except Exception as err:  # XLA reports an unknown name or bad value as a generic runtime error
    raise ConfigurationError(
      f'xla_options={options} was refused by XLA ({str(err).splitlines()[0][:200]}). Check the names and values '
      'against the installed jaxlib (common/train/xla_options.py shows working ones) or remove xla_options.'
    ) from err
  return options


def check_cadences(owner: str, **cadences: int) -> None:
  """Every cadence (log_every=..., ...) must be a positive number of steps."""
  for name, value in cadences.items():
    if value is None or int(value) < 1:
      raise ConfigurationError(f'{owner}.{name}={value} must be a positive number of steps.')


_global_norm = jax.jit(optax.global_norm)  # one program, not one eager op per parameter
_member_norm = jax.jit(jax.vmap(optax.global_norm))


@functools.partial(jax.jit, static_argnums=1)
def _unstack(tree, n: int) -> list:
  """A tree with a leading member axis of size n -> n trees."""
  return [jax.tree_util.tree_map(lambda x, i=i: x[i], tree) for i in range(n)]


def run_once(fn: Callable, *args):
  """jax.jit(fn)(*args) compiled at XLA optimisation level 0, for functions that run once (inits).

  The random bits of an init are integer arithmetic, identical at any level; float transforms of them (flax's
  truncated normal) may round differently in the last bit than at the default level, the same for every run.
  """
  return jax.jit(fn).lower(*args).compile(compiler_options={'xla_backend_optimization_level': 0})(*args)


class Run:
  """The life of one run (or of N vmapped seeds inside `members`). See the module docstring."""

  def __init__(
    self,
    *,
    seed: int,
    workdir: str,
    dry_run: bool = False,
    total_steps: int | None = None,
    keep_checkpoints: int = 3,
    xla_options: Mapping[str, Any] | None = None,
    start_step: int = 0,
  ):
    m = _MEMBERS.get()
    self.seeds = [int(seed)] if m is None else list(m.seeds)
    self.workdirs = [workdir] if m is None else list(m.workdirs)
    self._values = list(m.values) if m is not None and m.values else []
    self.vmapped = len(self.seeds) > 1
    self.dry_run = dry_run
    self.total_steps = total_steps
    self.keep_checkpoints = keep_checkpoints
    self.xla_options = check_xla_options(xla_options)
    self.start_step = start_step
    self.meta: dict[str, Any] = {}
    self.compile_seconds: float | None = None
    self.first_step_unix_time: float | None = None
    self.is_chief = jax.process_index() == 0
    self._fault = _parse_fault(os.environ.get(FAULT_ENV, ''))
    self._last_good: int | None = None
    self._ckpts: list[Checkpointer] = []
    self._writers: list[MetricWriter] = []
    self._progress: Progress | None = None
    self.mesh = sharding.data_mesh()
    # One process: the member axis is split over as many devices as divide it evenly (8 seeds on 3 devices: 2),
    # the run's only mesh (a second Mesh over the same devices makes jit refuse to mix its arrays with the data
    # mesh's): axes ('member', 'data') with 'data' of size 1, so shared arrays and batches are replicated over the
    # members' devices. Several processes: members replicated, the data mesh as for one seed.
    devices = jax.devices()
    self._member_mesh = None
    if self.vmapped and jax.process_count() == 1 and len(devices) > 1:
      split = max(d for d in range(1, len(devices) + 1) if len(self.seeds) % d == 0)
      self.mesh = Mesh(np.asarray(devices[:split]).reshape(-1, 1), ('member', sharding.DATA_AXIS))
      self._member_mesh = self.mesh

  # -- keys ------------------------------------------------------------------------------------------------------

  def key(self, stream: str | int) -> jax.Array:
    """fold_in(PRNGKey(seed), id) for a named stream (STREAMS) or an int id; stacked (N, 2) for N members."""
    sid = STREAMS[stream] if isinstance(stream, str) else int(stream)
    keys = [jax.random.fold_in(jax.random.PRNGKey(s), sid) for s in self.seeds]
    return jnp.stack(keys) if self.vmapped else keys[0]

  def root_key(self) -> jax.Array:
    """PRNGKey(seed) itself (stacked for N members), for loops whose streams fold in more than a stream id."""
    keys = [jax.random.PRNGKey(s) for s in self.seeds]
    return jnp.stack(keys) if self.vmapped else keys[0]

  def member_values(self, name: str, default):
    """Per-member values of entry-point argument `name` ([default] * N when the launcher gave none)."""
    if not self._values or name not in self._values[0]:
      return [default] * len(self.seeds)
    return [v[name] for v in self._values]

  # -- placement and compilation -----------------------------------------------------------------------------------

  def place(self, tree, *, per_member: bool = True):
    """Puts `tree` on the run's devices: per-member trees (leading member axis) are split over the devices when the
    member axis divides them; shared trees (per_member=False, or a single-seed run) are replicated on the mesh."""
    if per_member and self._member_mesh is not None:
      # Through the host: putting device arrays on a new sharding compiles a slicing program per leaf shape.
      return jax.device_put(jax.device_get(tree), NamedSharding(self._member_mesh, PartitionSpec('member')))
    return sharding.replicate(tree, self.mesh)

  def global_batch(self, local, *, per_member: bool = False):
    """Process-local slices of a batch (numpy) -> global arrays split over the mesh's 'data' axis.

    The batch axis is 0, or 1 after a leading member axis (per_member). Each process passes only the examples it
    read (streaming input: each host reads its slice of every global batch).
    """
    spec = PartitionSpec(None, sharding.DATA_AXIS) if per_member else PartitionSpec(sharding.DATA_AXIS)
    target = NamedSharding(self.mesh, spec)
    return jax.tree_util.tree_map(lambda x: jax.make_array_from_process_local_data(target, np.asarray(x)), local)

  def shard_batch(self, batch):
    """Inside a step: splits the batch over the mesh's 'data' axis (a no-op for vmapped members and one device)."""
    if self.vmapped:
      return batch
    return sharding.shard_batch(batch, self.mesh)

  def jit(
    self,
    fn: Callable,
    *,
    member_axes: Sequence[int | None] | None = None,
    static_argnums: Sequence[int] = (),
    donate_argnums: Sequence[int] = (),
  ) -> Callable:
    """jax.jit(fn) with the run's xla_options; for N members, jit(vmap(fn, in_axes=member_axes)).

    member_axes: per positional argument, 0 if it carries the member axis (state, keys) or None if it is shared
    (datasets, python ints); default: every argument per member. Outputs always carry the member axis.
    """
    if self.vmapped:
      axes = tuple(member_axes) if member_axes is not None else 0
      fn = jax.vmap(fn, in_axes=axes)
    return jax.jit(
      fn, static_argnums=tuple(static_argnums), donate_argnums=tuple(donate_argnums), compiler_options=self.xla_options
    )

  def members_of(self, tree) -> list:
    """Host copies of `tree`, one per member (a single-element list for a single-seed run)."""
    host = jax.device_get(tree)
    if not self.vmapped:
      return [host]
    return [jax.tree_util.tree_map(lambda x, i=i: np.asarray(x)[i], host) for i in range(len(self.seeds))]

  def stack(self, trees: list):
    """The inverse of members_of for host-side transitions: N per-member trees -> one tree (no axis for one)."""
    if not self.vmapped:
      return trees[0]
    return jax.tree_util.tree_map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *trees)

  # -- building and resuming ---------------------------------------------------------------------------------------

  def build(self, init_fn: Callable, *, key: str | int = 'params', member_args: tuple = (), compile_fn=None):
    """The initial state: init_fn(key, *member_args) -> state pytree, once per member (lax.map), placed on the
    devices. member_args carry a leading member axis (e.g. the member index for per-member optimizers).

    A dry run returns the abstract state of one member (jax.eval_shape, nothing computed) and prints the parameter
    table of its 'params' entry. The init is compiled by `compile_fn(fn, *args)`, default `run_once` (XLA
    optimisation level 0: an init runs once, and LLVM optimising every threefry call of a vmapped init took longer
    than the whole run).
    """
    if self.dry_run:
      one_key = jax.random.fold_in(jax.random.PRNGKey(self.seeds[0]), STREAMS[key] if isinstance(key, str) else key)
      abstract = jax.eval_shape(init_fn, one_key)
      params = abstract.get('params') if isinstance(abstract, dict) else None
      if params is not None:
        print(state_lib.param_table(params))
      return abstract
    # Members are initialised one after another, not vmapped: an init runs once, the program is one member's
    # (smaller to compile), each member's values are those of a single-seed run, and a vmapped init of a flax
    # nn.scan with broadcast params (ctm.lstm.LSTMBaseline) hangs in XLA:CPU. By default one member's program is
    # compiled and called per member (half the compile time of a lax.map over the members); a custom compile_fn
    # gets the lax.map.
    args = (self.key(key), *member_args)
    if not self.vmapped:
      return self.place((compile_fn or run_once)(init_fn, *args))
    if compile_fn is not None:
      return self.place(compile_fn(lambda *xs: jax.lax.map(lambda a: init_fn(*a), xs), *args))
    host = jax.device_get(args)
    member = [jax.tree_util.tree_map(lambda x, i=i: x[i], host) for i in range(len(self.seeds))]
    one = jax.jit(init_fn).lower(*member[0]).compile(compiler_options={'xla_backend_optimization_level': 0})
    return self.place(self.stack([jax.device_get(one(*m)) for m in member]))

  def dry_run_result(self, abstract_state, **extra) -> dict[str, Any]:
    params = abstract_state.get('params', abstract_state) if isinstance(abstract_state, dict) else abstract_state
    return {'num_params': state_lib.count_params(params), **extra}

  def _open(self) -> None:
    if self._ckpts:
      return
    self._ckpts = [Checkpointer(w, keep=self.keep_checkpoints) for w in self.workdirs]
    self._writers = [MetricWriter(w, console=(i == 0)) for i, w in enumerate(self.workdirs)]

  def latest_step(self) -> int | None:
    """The latest step every member has a checkpoint of (None if some member has none)."""
    self._open()
    steps = [set(c.all_steps()) for c in self._ckpts]
    common = set.intersection(*steps) if steps else set()
    return max(common) if common else None

  def resume(self, state, *, step: int | None = None):
    """The state restored from the latest checkpoint every member has (or `state` unchanged when there is none).

    Sets run.start_step and run.meta (the loop's JSON bookkeeping saved with that checkpoint), drops metric rows
    logged after it (a run killed between checkpoints), and removes member checkpoints beyond it.
    """
    self._open()
    step = self.latest_step() if step is None else step
    if step is not None:
      restored = [c.restore(member, step) for member, c in zip(self._members(state), self._ckpts)]
      self.meta = restored[0][1]
      state = self.place(self.stack([r[0] for r in restored])) if self.vmapped else restored[0][0]
      if not self.vmapped:
        state = sharding.replicate(state, self.mesh)
      for c in self._ckpts:
        for later in [s for s in c.all_steps() if s > step]:
          c.delete(later)
      self.start_step = int(step)
      self._last_good = int(step)
      print(f'Resumed from {self._ckpts[0].directory}/{step}', flush=True)
    for w in self._writers:
      w.truncate_after(self.start_step)
    self._progress = Progress(self.total_steps or 0, self.start_step)
    return state

  def _members(self, tree) -> list:
    """The members' trees for their checkpoints. One process: host slices of one device_get, put back on the
    default device (what an eager x[i] per leaf did, without compiling a slice and a squeeze per leaf shape, nor a
    jitted unstack, which took a second to compile for a member-split state). Several processes: one jitted unstack,
    so every member stays a global array that orbax saves from every host."""
    if not self.vmapped:
      return [tree] * len(self._ckpts)
    n = len(self.seeds)
    if jax.process_count() > 1:
      return _unstack(tree, n)
    host = jax.device_get(tree)
    return [jax.device_put(jax.tree_util.tree_map(lambda x, i=i: np.asarray(x)[i], host)) for i in range(n)]

  # -- the hot loop's host boundaries --------------------------------------------------------------------------------

  def first_step_done(self, step: int, state) -> None:
    """Call after the first step of this process: blocks on it and records the compile time (excluded from rates)."""
    import time

    jax.block_until_ready(state)
    if self._progress is None:
      self._progress = Progress(self.total_steps or 0, self.start_step)
    self._progress.first_step_done(step)
    self.compile_seconds = self._progress.compile_seconds
    self.first_step_unix_time = time.time()

  def rate(self, step: int) -> float:
    return self._progress.rate(step) if self._progress is not None else 0.0

  def log(self, step: int, split: str, metrics, *, check: bool = True, show: str | None = 'loss', divide=1) -> list:
    """Writes one row per member from device or host values (per member along axis 0 when vmapped), after a
    finiteness check; `divide` turns running sums into means. Returns the host rows (one dict per member)."""
    rows = [{k: float(np.asarray(v)) / divide for k, v in row.items()} for row in self.members_of(dict(metrics))]
    return self.log_rows(step, split, rows, check=check, show=show)

  def log_rows(self, step: int, split: str, rows: list[dict], *, check: bool = True, show: str | None = 'loss'):
    """Writes host rows, one dict of numbers per member. Split 'train' rows get steps_per_sec and advance the
    console progress bar; `check` stops the run (TrainingDiverged) on a non-finite value."""
    self._boundary(step)
    self._open()
    rows = [{k: float(v) for k, v in row.items()} for row in rows]
    if check:
      self.check_finite(step, rows)
    for w, row in zip(self._writers, rows):
      if split == 'train':
        row = {**row, 'steps_per_sec': self.rate(step)}
      w.write(step, split, row)
    if split == 'train' and self._progress is not None:
      extra = f'{show}={rows[0][show]:.4g}' if show and show in rows[0] else ''
      self._progress.update(step, extra)
    return rows

  def check_finite(self, step: int, rows) -> None:
    """Raises TrainingDiverged if a value of any member is not finite (rows: a dict or one dict per member)."""
    rows = [rows] if isinstance(rows, Mapping) else list(rows)
    if self._fault.get('nan') is not None and step >= self._fault['nan']:
      self._fault['nan'] = None
      rows = [{**r, 'loss': float('nan')} for r in rows]
    bad = [{k: v for k, v in row.items() if isinstance(v, (int, float)) and not math.isfinite(v)} for row in rows]
    members = [i for i, b in enumerate(bad) if b]
    if members:
      self._stop_diverged(step, bad[members[0]], members)

  def _stop_diverged(self, step: int, bad: dict, members: list[int]) -> None:
    """Raises TrainingDiverged naming the first diverged member; `error.members` lists all (indices)."""
    member = members[0]
    for c in self._ckpts:
      c.wait()
      c.close()
    for w in self._writers:
      w.close()
    who = f' (seed {self.seeds[member]})' if self.vmapped else ''
    where = (
      f'the last good checkpoint is step {self._last_good} in {self._ckpts[0].directory}'
      if self._last_good is not None and self._ckpts else 'no checkpoint was saved before it'
    )  # fmt: skip
    error = TrainingDiverged(
      f'non-finite values at step {step}{who}: {bad}. Training stopped; {where}. '
      'Lower the learning rate, add gradient clipping (create_optimizer.grad_clip_norm), or check the inputs.'
    )
    error.members = members  # which members diverged: a vmapped sweep drops their trials and runs the rest
    raise error

  def save(self, step: int, state, *, probe=None) -> None:
    """Checks the parameters are finite, then starts an async save of every member's state and run.meta.

    probe: the subtree whose global norm is checked (default state['params'] when present, else the whole state).
    """
    self._boundary(step)
    self._open()
    if probe is None:
      probe = state['params'] if isinstance(state, dict) and 'params' in state else state
    self.check_params_finite(step, probe)
    for member, c in zip(self._members(state), self._ckpts):
      c.save(step, member, meta=self.meta)
    self._last_good = step

  def check_params_finite(self, step: int, tree) -> None:
    """Raises TrainingDiverged if a member's global norm of `tree` is not finite (one compiled program per tree
    structure, not one eager op per parameter)."""
    norms = np.atleast_1d(np.asarray(jax.device_get((_member_norm if self.vmapped else _global_norm)(tree))))
    self.check_finite(step, [{'parameter_norm': float(n)} for n in norms])

  def _boundary(self, step: int) -> None:
    kill = self._fault.get('kill')
    if kill is not None and step >= kill:
      # An async save may be in flight: the kill tests exactly that a checkpoint never half-lands.
      sys.stdout.flush()
      sys.stderr.flush()
      os.kill(os.getpid(), signal.SIGKILL)

  # -- evaluation ----------------------------------------------------------------------------------------------------

  def evaluate(self, eval_step: Callable, params, model_state, batches) -> list[dict[str, float]]:
    """Example-weighted means of eval_step's metrics over `batches`, one dict per member.

    eval_step(params, model_state, batch) -> (metrics, weight) is a plain per-seed function; it is compiled here
    (vmapped over members with the batch shared) and cached on the Run by identity.
    """
    compiled = self._eval_cache(eval_step)
    sums, total = None, 0.0
    for batch in batches:
      metrics, weight = compiled(params, model_state, batch)
      metrics = {k: np.asarray(v, np.float64) for k, v in jax.device_get(metrics).items()}
      w = float(np.asarray(jax.device_get(weight)).reshape(-1)[0])
      part = {k: v * w for k, v in metrics.items()}
      sums = part if sums is None else {k: sums[k] + part[k] for k in sums}
      total += w
    sums = sums or {}
    out = []
    for i in range(len(self.seeds)):
      out.append({k: float((v[i] if self.vmapped else v) / max(total, 1.0)) for k, v in sums.items()})
    return out

  def _eval_cache(self, eval_step):
    cache = self.__dict__.setdefault('_evals', {})
    if id(eval_step) not in cache:
      cache[id(eval_step)] = (eval_step, self.jit(eval_step, member_axes=(0, 0, None)))
    return cache[id(eval_step)][1]

  # -- the end -------------------------------------------------------------------------------------------------------

  def write_json(self, name: str, per_member: list) -> None:
    """Writes `<workdir>/<name>` for every member (process 0 only); per_member: one JSON-able object per member."""
    if self.is_chief:
      for w, obj in zip(self.workdirs, per_member):
        write_json(os.path.join(w, name), obj)

  def finish(self, finals: list[dict], *, plot_skip: Sequence[str] = ()) -> dict | list[dict]:
    """Waits for pending saves, writes every member's final_metrics.json, the TensorBoard split 'final' and
    curves.png; returns the final metrics (a list of per-member dicts for a vmapped run)."""
    self._open()
    finals = [dict(f) for f in finals]
    for f in finals:
      if self.compile_seconds is not None:
        f.setdefault('compile_seconds', self.compile_seconds)
        # For the launcher-overhead benchmark: wall-clock time when the first step (compile included) finished.
        f.setdefault('first_step_unix_time', self.first_step_unix_time)
    if self._progress is not None:
      self._progress.close()
    for c in self._ckpts:
      c.wait()
      c.close()
    step = int(self.total_steps or finals[0].get('step', 0))
    for w, f in zip(self._writers, finals):
      numeric = {k: v for k, v in f.items() if _is_number(v) and not k.endswith('unix_time')}
      w.write(step, 'final', numeric)
      w.close()
    if self.is_chief:
      skip = ('steps_per_sec', 'learning_rate', *plot_skip)
      for w, f in zip(self.workdirs, finals):
        write_json(os.path.join(w, 'final_metrics.json'), f)
      pngs = [(writer.jsonl_path, os.path.join(w, 'curves.png')) for w, writer in zip(self.workdirs, self._writers)]
      plot_runs(pngs, skip=skip, splits_skip=('final',))
    return finals if self.vmapped else finals[0]

  def close(self) -> None:
    """Releases checkpoint managers and writers without writing final artefacts (early exits)."""
    for c in self._ckpts:
      c.wait()
      c.close()
    for w in self._writers:
      w.close()


def _is_number(v) -> bool:
  return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _parse_fault(text: str) -> dict[str, int | None]:
  """'kill@5' or 'nan@3' (comma-separated for both) -> {'kill': 5, 'nan': 3}."""
  out: dict[str, int | None] = {}
  for part in filter(None, (p.strip() for p in text.split(','))):
    kind, _, step = part.partition('@')
    if kind not in ('kill', 'nan') or not step.isdigit():
      raise ConfigurationError(f'${FAULT_ENV}={text!r}: write kill@STEP and/or nan@STEP, e.g. kill@5.')
    out[kind] = int(step)
  return out
