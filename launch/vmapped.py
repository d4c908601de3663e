"""Several seeds, or sweep trials that differ only in numbers, trained as ONE vmapped program on the run engine.

  launch --gin_file=E.gin --seeds=0,1,2,3,4 --workdir=W              members in W/seed_0 ... W/seed_4
  launch --gin_file=E.gin --sweep=S.py --workdir=ROOT --vmap_trials  trials grouped; each group is one program

Every member is a complete run directory, exactly what a single-seed launch writes there (config record with the
member's own SEED, metrics, TensorBoard, checkpoints, final metrics, curves), so `launch report`, `launch diff` and
a resume treat it like any other run. The engine (common/train/engine.py) stacks the members' keys and states
along a leading axis and vmaps the entry point's step over it; the member axis is split over the local devices
when it divides them.

What members may differ in (checked against the first member on the macro-expanded, effective configs): the
entry point's `seed`, and, for the supervised loop (which switches optimizers per member), numbers the optimizer
factory reads (learning rate, weight decay, ...). Anything else changes what gin builds, which the members share
(a layer width, the number of steps, a data seed bound to SEED such as a continual stream's permutations): the
error lists those keys and the fix (bind them to a macro of their own, or run the trials separately).

A member whose values turn non-finite stops its program (the engine's NaN stop names the member): in a vmapped sweep
its trial is recorded as failed, as its own run would have ended, and the rest of the program runs on without it,
resuming from its last checkpoint; the sweep then exits 1 and `launch report` lists the failed trials.
"""

import json
import os
import sys
import time

from launch import api, build_check, validate
from launch import diff as diff_lib
from launch import trials as trials_lib
from launch.errors import UsageError

# Entry points that accept a per-member optimizer (engine.Run.member_values('optimizer', ...)).
MEMBER_OPTIMIZERS = ('common.train.loop.train',)


def seed_workdir(root: str, seed: int) -> str:
  return os.path.join(os.path.abspath(root), f'seed_{seed}')


def parse_seeds(text: str) -> list[int]:
  """'0,1,2' -> [0, 1, 2]; a UsageError naming --seeds for anything else."""
  try:
    seeds = [int(x) for x in text.split(',') if x.strip()]
  except ValueError:
    seeds = []
  if len(seeds) < 1 or len(set(seeds)) != len(seeds):
    raise UsageError(f'--seeds={text!r}: give distinct integer seeds separated by commas, e.g. --seeds=0,1,2,3,4.')
  return seeds


def check_members(prepared: list[api.Prepared], labels: list[str]) -> bool:
  """Raises UsageError naming the keys that make the members more than seed/optimizer-number variants.

  Returns whether the members' optimizers differ (they are then built per member).
  """
  return bool(optimizer_differences(prepared, labels))


def optimizer_differences(prepared: list[api.Prepared], labels: list[str]) -> set[str]:
  """check_members' work: raises UsageError on differences other than the seed and optimizer numbers, and returns
  the optimizer bindings (full gin keys) whose numbers differ between members."""
  entry = prepared[0].entry_name
  if any(p.entry_name != entry for p in prepared):
    raise UsageError('the members run different entry points; they cannot share one vmapped program.')
  sides = [diff_lib.effective(p.resolved_json['bindings'], root=None, defaults='none') for p in prepared]
  bad, optimizer_keys = {}, set()
  for side, label in zip(sides[1:], labels[1:]):
    for key in sorted(set(sides[0]) | set(side)):
      a, b = sides[0].get(key), side.get(key)
      if a is not None and a['kind'] == 'macro':
        continue  # a macro's change shows where it lands
      if not (a or b)['reached'] and (a is None or b is None or not b['reached']):
        continue  # a dead binding (e.g. trainer.gin's loop.train.seed under another entry point) builds nothing
      va, vb = (json.dumps(x['expanded'], sort_keys=True) if x else None for x in (a, b))
      if va == vb:
        continue
      numeric = all(x is not None and _is_number(x['expanded']) for x in (a, b))
      if key == f'{entry}.seed' and numeric:
        continue
      if numeric and a['kind'] == 'optimizer' and entry in MEMBER_OPTIMIZERS:
        optimizer_keys.add(key)
        continue
      bad.setdefault(key, (_shown(a), _shown(b), label))
  if bad:
    rows = '\n'.join(f'  {k}: {a} ({labels[0]}) vs {b} ({label})' for k, (a, b, label) in sorted(bad.items()))
    allowed = f'{entry}.seed' + (' and numbers the optimizer reads' if entry in MEMBER_OPTIMIZERS else '')
    raise UsageError(
      f'these runs differ in more than {allowed}, so they cannot share one vmapped program:\n{rows}\n'
      'Members share everything gin builds. Bind such keys to a macro of their own (e.g. a DATA_SEED for a '
      'stream seeded by SEED) or run the seeds/trials as separate runs (without --seeds / --vmap_trials).'
    )
  return optimizer_keys


def _shown(entry) -> str | None:
  """'%SEED (= 3)' for a macro reference, else the gin text."""
  if entry is None:
    return None
  text, value = entry['gin'], json.dumps(entry['expanded'])
  return f'{text} (= {value})' if text.startswith('%') else text


def _is_number(x) -> bool:
  return isinstance(x, (int, float)) and not isinstance(x, bool)


def _optimizers(prepared: list[api.Prepared], keys: set[str]) -> list[dict]:
  """Per-member {'optimizer': factory} built while each member's config is the parsed one (gin binds a factory's
  arguments when it is called, so each member's optimizer is built now and its factory returns it).

  When every differing key (`keys`, from optimizer_differences) is a number that optim.create_optimizer can take
  as a traced value (optim.TRACEABLE_NUMBERS), each member also gets {'optimizer_numbers': {argument: value}}: the
  loop then builds ONE optimizer whose numbers are indexed by the member id, instead of switching between the
  members' optimizers (under vmap a switch computes every member's update for every member).
  """
  import gin

  from common.train import optim
  from launch import gin_setup

  values, numbers = [], []
  for p in prepared:
    gin_setup.parse(p.gin_files, p.bindings, p.search_paths)
    bound = gin.get_bindings(p.entry_name)
    tx = bound['optimizer'](int(bound['num_steps']))  # also validates this member's numbers
    values.append({'optimizer': lambda num_steps, tx=tx: tx})
    if getattr(bound['optimizer'], '__name__', None) == optim.create_optimizer.__name__:
      numbers.append(gin.get_bindings(bound['optimizer']))
  args = {k.rsplit('.', 1)[-1] for k in keys}
  traceable = (
    len(numbers) == len(prepared)
    and all(k.rpartition('.')[0].rpartition('.')[2] == optim.create_optimizer.__name__ for k in keys)
    and args <= set(optim.TRACEABLE_NUMBERS)
    and all(_is_number(n.get(a)) for n in numbers for a in args)
  )
  if traceable:
    for v, n in zip(values, numbers):
      v['optimizer_numbers'] = {a: float(n[a]) for a in sorted(args)}
  return values


def execute_group(
  gin_files: list[str],
  base_bindings: list[str],
  member_bindings: list[list[str]],
  workdirs: list[str],
  *,
  labels: list[str],
  search_paths=None,
  argv=None,
  swept=(),
  allow_config_change: bool = False,
) -> list[dict]:
  """Validates, checks, records and runs the members as one vmapped program; returns one final per member."""
  import jax

  from launch import gin_setup

  prepared = [api.prepare(list(gin_files), list(base_bindings) + list(b), search_paths) for b in member_bindings]
  optimizer_keys = optimizer_differences(prepared, labels)
  values = _optimizers(prepared, optimizer_keys) if optimizer_keys else []
  entry = gin_setup.parse(prepared[0].gin_files, prepared[0].bindings, prepared[0].search_paths)
  build_check.build(entry, prepared[0].model, capture=True, check_data=True)
  chief = jax.process_index() == 0
  workdirs = [os.path.abspath(w) for w in workdirs]
  for p, w in zip(prepared, workdirs):
    api.check_workdir(w, p, allow_config_change, chief)
  argv = argv or ['launch', *[f'--gin_file={f}' for f in gin_files], *[f'--gin_bindings={b}' for b in base_bindings]]
  print(
    f'launch: {prepared[0].entry_name}, {len(prepared)} members as one vmapped program on {api.backend_name()}',
    flush=True,
  )
  return api.run_members(
    entry, list(zip(prepared, workdirs)), chief=chief, allow_config_change=allow_config_change, argv=argv,
    swept=swept, values=values,
  )  # fmt: skip


def execute_seeds(gin_files, bindings, seeds: list[int], workdir: str, **kw) -> list[dict]:
  """`launch --seeds=...`: the experiment once per seed, as one program, member s in <workdir>/seed_<s>."""
  return execute_group(
    gin_files, bindings, [[f'SEED = {s}'] for s in seeds], [seed_workdir(workdir, s) for s in seeds],
    labels=[f'SEED={s}' for s in seeds], **kw,
  )  # fmt: skip


def groups(trials) -> list[list]:
  """Trials grouped by every swept value except SEED (order kept): each group may become one vmapped program."""
  out: dict[tuple, list] = {}
  for t in trials:
    out.setdefault(tuple((k, repr(v)) for k, v in t.values if k != 'SEED'), []).append(t)
  return list(out.values())


def run(opts, trials, keys) -> int:
  """The --vmap_trials branch of a local sweep: each group of trials one vmapped program, run in turn."""
  from launch import sweep_report

  root = os.path.abspath(opts.workdir)
  todo = [t for t in trials if (trials_lib.read(trials_lib.workdir(root, t)) or {}).get('status') != trials_lib.DONE]
  batches = [[t for t in g if t in todo] for g in _vmappable(opts, trials)]
  batches = [b for b in batches if b]
  print(f'sweep: {len(trials)} trials as {len(batches)} vmapped program(s); {len(trials) - len(todo)} already done')
  failed = []
  for group in batches:
    start = time.time()
    group, finals = _run_dropping_diverged(opts, group, keys, failed)
    if not group:
      continue
    workdirs = [trials_lib.workdir(root, t) for t in group]
    records = [_record(opts, t) for t in group]
    seconds = time.time() - start
    if trials_lib.is_chief():
      for w, record, final in zip(workdirs, records, finals):
        final = trials_lib.numeric(final)
        trials_lib.write(w, {**record, 'status': trials_lib.DONE, 'final': final, 'seconds': seconds, 'vmapped': True})
    for t, final in zip(group, finals):
      print(f'{t.id}: ' + json.dumps(trials_lib.numeric(final), sort_keys=True))
  paths = sweep_report.write(root, trials, keys, opts.metric)
  print(f'results: {", ".join(paths)}')
  if failed:
    print(f'sweep: {len(failed)} trial(s) diverged: {", ".join(t.id for t in failed)}', file=sys.stderr)
    return 1
  return 0


def _record(opts, t) -> dict:
  return {'index': t.index, 'id': t.id, 'bindings': t.bindings, 'sweep_file': opts.sweep}


def _run_dropping_diverged(opts, group, keys, failed: list) -> tuple[list, list]:
  """Runs `group` as one program; a member whose values turn non-finite stops that program (the engine's NaN
  stop), so its trial is recorded as failed (what its own run would have done) and the others run again as one
  program, resuming from their last common checkpoint. Returns the trials that finished and their finals."""
  from common.train.errors import TrainingDiverged

  root = os.path.abspath(opts.workdir)
  group = list(group)
  while group:
    try:
      finals = execute_group(
        opts.gin_files, opts.bindings, [t.bindings for t in group], [trials_lib.workdir(root, t) for t in group],
        labels=[f'trial {t.id}' for t in group], search_paths=opts.search_paths, argv=opts.argv, swept=keys,
      )  # fmt: skip
      return group, finals
    except TrainingDiverged as e:
      members = getattr(e, 'members', None)  # set by the engine's NaN stop (common/train/engine.py)
      if not members or not all(0 <= i < len(group) for i in members):
        raise
      reason = str(e).splitlines()[0]  # names the first of them
      dropped = [group[i] for i in members]
      group = [t for i, t in enumerate(group) if i not in members]
      for bad in dropped:
        failed.append(bad)
        error = reason if bad is dropped[0] else f'non-finite values at the same check as {dropped[0].id}'
        if trials_lib.is_chief():
          record = {**_record(opts, bad), 'status': trials_lib.FAILED, 'error': f'TrainingDiverged: {error}'}
          trials_lib.write(trials_lib.workdir(root, bad), record)
        print(f'{bad.id}: diverged ({error})', flush=True)
      print(f'{len(group)} trial(s) of the program go on without the {len(members)} that diverged', flush=True)
  return [], []


def _vmappable(opts, trials) -> list[list]:
  """All trials as one group when they may share a program, else the groups that differ only in SEED."""
  prepared = [api.prepare(opts.gin_files, list(opts.bindings) + t.bindings, opts.search_paths) for t in trials]
  try:
    check_members(prepared, [f'trial {t.id}' for t in trials])
    return _distinct_seeds(trials, prepared)
  except UsageError:
    pass
  out = groups(trials)
  for g in out:  # each SEED group must itself be eligible; the error names what differs
    if len(g) > 1:
      check_members(
        [api.prepare(opts.gin_files, list(opts.bindings) + t.bindings, opts.search_paths) for t in g],
        [f'trial {t.id}' for t in g],
      )
  return out


def _distinct_seeds(trials, prepared: list[api.Prepared]) -> list[list]:
  """Trials that may share a program, in as few programs as keep every member's seed distinct (the engine refuses
  a program that trains one seed twice), e.g. a learning rate x seed product: one program per learning rate."""
  out: list[tuple[set, list]] = []
  for t, p in zip(trials, prepared):
    seed = validate.seed(p.model)
    slot = next((g for g in out if seed not in g[0]), None)
    if slot is None:
      slot = (set(), [])
      out.append(slot)
    slot[0].add(seed)
    slot[1].append(t)
  return [members for _, members in out]
