"""The curricula's tables, measures and verdicts, as a `launch report` analysis.

  launch report ROOT --group_by=TASK,CORE,KIND --analysis=projects.emergent_timescales.analysis:curricula

ROOT holds runs of configs/emergent_timescales/curriculum.gin (sweeps/curricula.py). From each run's final metrics:
the N values learned (ns_learned), the step at which each N was learned (training speed), the mean single-neuron
tau when it was learned (tau against N), and the final accuracy of every N (single-head: the one head on earlier
N, i.e. forgetting; multi-head: each N's own head). From each run's final checkpoint (restored through the run's
operative config), on the N it trains on at the end (the stage n: multi-head, the largest N learned; single-head,
the N its one head is learning, since its earlier N are forgotten):
  - tau_net: the median over neurons of the network timescale (measures.exponential_timescale of the
    autocorrelation of activity under Bernoulli streams), and the median single-neuron tau;
  - ablation: accuracy with the `ABLATE` longest-tau (LeakyRNN only) and as many random units silenced;
  - perturbation: accuracy with W_rec + eps ||W_rec|| D / ||D|| for eps in PERTURB (mean over PERTURB_DRAWS draws).
Robustness is reported as the accuracy kept above chance, (acc - 0.5) / (intact acc - 0.5), for networks whose
intact accuracy is at least MIN_INTACT. The two kinds may end on different N (a multi-head network that reached
N_MAX is scored on a harder N than a single-head one that did not): the table shows n_eval.

Runs are grouped by (TASK, CORE): one section of tables per task and core, a row per KIND. Where a section has
both kinds, its claims are judged on seed-paired gaps with launch/claims.py (the shared vocabulary: 'above:
holds' when the mean seed-paired difference exceeds 2 standard errors of it; runs are paired by SEED, which
sets both kinds' initial-weight key and batch stream).

Writes <out>/curricula.png (learned step and tau against N per kind; robustness curves) and returns the Markdown.
"""

import math
import os
import re

import numpy as np

from launch import claims
from launch import report as report_lib

ABLATE = (4, 8, 16)
PERTURB = (0.1, 0.3, 1.0)
PERTURB_DRAWS = 4
EVAL_BATCHES = 4
MIN_INTACT = 0.75  # robustness is measured only on networks that (largely) solve their N
ACTIVITY_STREAMS, ACTIVITY_LENGTH, MAX_LAG = 8, 2000, 50


def _family(run: report_lib.Run) -> tuple[str, str]:
  """(task, core name) of a curriculum run, e.g. ('parity', 'LeakyRNN')."""
  core = report_lib.config_value(run, 'CORE')
  name = core.get('@', '') if isinstance(core, dict) else str(core or 'LeakyRNN')
  return str(report_lib.config_value(run, 'TASK', 'parity')), name.rsplit('.', 1)[-1].rstrip('()') or 'LeakyRNN'


def _ns(final: dict) -> list[int]:
  return sorted(int(m.group(1)) for k in final if (m := re.fullmatch(r'learned_at_n(\d+)', k)))


def _cell(values) -> str:
  """'mean ± sd (n=k)' over the finite values (launch report's number format), or '-'."""
  v = [float(x) for x in values if x is not None and math.isfinite(float(x))]
  return f'{report_lib.fmt_stat(report_lib.stat(v))} (n={len(v)})' if v else '-'


def measure_run(run: report_lib.Run) -> dict:
  """tau_net, taus and robustness of a finished run's final network on its final stage's N."""
  import jax
  import jax.numpy as jnp

  from common.train import checkpoint
  from common.train import state as state_lib
  from projects.emergent_timescales import measures

  _, kw = report_lib.entry_arguments(run.workdir)
  model, task = kw['model'], kw['task']
  tx = kw['optimizer'](kw['num_steps'])
  like = jax.eval_shape(
    lambda k: state_lib.create_state(state_lib.init_variables(model, task.init_inputs(), k), tx), jax.random.PRNGKey(0)
  )
  state = checkpoint.restore_params(run.workdir, like)
  params, model_state = state['params'], state['model_state']
  n_eval = int(run.final['n'])  # the N the network trains on at the end (single-head: its one head's N)
  col = n_eval - task.start_n
  key = jax.random.PRNGKey(97)

  @jax.jit
  def accuracy(p, k):
    b = task._batch(k, 256)
    out = model.apply({'params': p, **model_state}, b['inputs'])
    return jnp.mean(task.per_n(out['logits'], b['targets'])[1][:, col])

  def acc(p):
    return float(np.mean([accuracy(p, jax.random.fold_in(key, i)) for i in range(EVAL_BATCHES)]))

  net = params['net']
  out = {'n_eval': n_eval, 'intact': acc(params)}
  core = model.core.clone(parent=None)
  activity = measures.record_activity(core, net['core'], jax.random.PRNGKey(5), ACTIVITY_STREAMS, ACTIVITY_LENGTH)
  tau_net = measures.exponential_timescale(measures.autocorrelation(activity, MAX_LAG))
  out['tau_net'] = float(np.nanmedian(np.asarray(tau_net))) if np.isfinite(np.asarray(tau_net)).any() else math.nan
  taus = measures.neuron_taus(net) if 'tau' in net['core'] else None
  out['tau_median'] = float(np.median(np.asarray(taus))) if taus is not None else math.nan
  hidden = net['core']['recurrent_kernel'].shape[0] if 'recurrent_kernel' in net['core'] else None

  def kept(a):  # undefined (NaN) for a network that no longer solves n_eval: the ratio would divide by ~0
    return (a - 0.5) / (out['intact'] - 0.5) if out['intact'] >= MIN_INTACT else math.nan

  if hidden is not None:
    rng = np.random.default_rng(0)
    for k in ABLATE:
      if taus is not None:  # GRU / LSTM have no single-neuron tau: only the random ablation is defined
        units = measures.units_by_tau(taus, k)
        out[f'ablate_long_{k}'] = kept(acc({**params, 'net': measures.ablate_units(net, units)}))
      out[f'ablate_random_{k}'] = kept(acc({**params, 'net': measures.ablate_units(net, rng.choice(hidden, k, False))}))
    for eps in PERTURB:
      draws = [
        acc({**params, 'net': measures.perturb_recurrent(net, jax.random.PRNGKey(1000 + d), eps)})
        for d in range(PERTURB_DRAWS)
      ]
      out[f'perturb_{eps}'] = kept(float(np.mean(draws)))
  return out


def curricula(report: report_lib.Report, out_dir: str) -> str:
  """Tables and verdicts for the single- vs multi-head curricula, one section per (TASK, CORE) (module docstring)."""
  families: dict[tuple[str, str], dict[str, list[report_lib.Run]]] = {}
  for run in (r for g in report.groups for r in g.runs):
    if run.values.get('KIND') is not None and run.final and 'ns_learned' in run.final:
      families.setdefault(_family(run), {}).setdefault(str(run.values['KIND']), []).append(run)
  if not families:
    return 'No finished curriculum runs (configs/emergent_timescales/curriculum.gin) under this root.\n'
  measured = {id(r): measure_run(r) for kinds in families.values() for runs in kinds.values() for r in runs}
  lines = []
  for (task, core), kinds in sorted(families.items()):
    lines += [f'## N-{task}, {core}', '']
    lines += _tables(kinds, measured)
    if 'single' in kinds and 'multi' in kinds:
      lines += _verdicts(kinds['single'], kinds['multi'], measured)
  _plot(families, measured, os.path.join(out_dir, 'curricula.png'))
  lines += ['Plot: curricula.png (step and tau at which each N was learned; robustness curves).']
  return '\n'.join(lines) + '\n'


def _tables(kinds: dict, measured: dict) -> list[str]:
  """One (task, core)'s tables: learning step, tau at learning, final accuracy per N, final-network measures."""
  ns = _ns(next(iter(kinds.values()))[0].final)
  lines = ['Step at which each N was learned (mean ± sd over the runs that learned it):', '']
  lines += ['| kind | N learned | ' + ' | '.join(f'N={n}' for n in ns) + ' |', '|' + '---|' * (2 + len(ns))]
  for kind, runs in sorted(kinds.items()):
    cells = [_cell([r.final[f'learned_at_n{n}'] for r in runs if r.final[f'learned_at_n{n}'] >= 0]) for n in ns]
    lines.append(f'| {kind} | {_cell([r.final["ns_learned"] for r in runs])} | ' + ' | '.join(cells) + ' |')
  if any(r.final[f'tau_at_n{n}'] > 0 for runs in kinds.values() for r in runs for n in ns):
    lines += ['', 'Mean single-neuron tau at the step each N was learned:', '']
    lines += ['| kind | ' + ' | '.join(f'N={n}' for n in ns) + ' |', '|' + '---|' * (1 + len(ns))]
    for kind, runs in sorted(kinds.items()):
      cells = [_cell([r.final[f'tau_at_n{n}'] for r in runs if r.final[f'tau_at_n{n}'] > 0]) for n in ns]
      lines.append(f'| {kind} | ' + ' | '.join(cells) + ' |')
  lines += ['', 'Final accuracy on every N (single-head: its one head, i.e. forgetting of earlier N):', '']
  lines += ['| kind | ' + ' | '.join(f'N={n}' for n in ns) + ' |', '|' + '---|' * (1 + len(ns))]
  for kind, runs in sorted(kinds.items()):
    lines.append(f'| {kind} | ' + ' | '.join(_cell([r.final[f'accuracy_n{n}'] for r in runs]) for n in ns) + ' |')
  keys = ['n_eval', 'intact', 'tau_median', 'tau_net'] + [f'ablate_long_{k}' for k in ABLATE]
  keys += [f'ablate_random_{k}' for k in ABLATE] + [f'perturb_{e}' for e in PERTURB]
  lines += ['', 'Final networks on their final N (robustness: accuracy kept above chance):', '']
  lines += ['| kind | ' + ' | '.join(keys) + ' |', '|' + '---|' * (1 + len(keys))]
  for kind, runs in sorted(kinds.items()):
    lines.append(
      f'| {kind} | ' + ' | '.join(_cell([measured[id(r)].get(k, math.nan) for r in runs]) for k in keys) + ' |'
    )
  return lines + ['']


def _verdicts(single: list, multi: list, measured: dict) -> list[str]:
  """The claims on seed-paired gaps (launch/claims.py): each row's gap is A - B of its claim 'A above B'."""
  ns = _ns(single[0].final)
  both = [n for n in ns if all(r.final[f'learned_at_n{n}'] >= 0 for r in single + multi)]

  def final(runs, key):
    return claims.by_seed(runs, lambda r: r.final[key], finite_only=True)

  def measure(runs, key):
    return claims.by_seed(runs, lambda r: measured[id(r)].get(key, math.nan), finite_only=True)

  def earlier(r):  # mean final accuracy on the N learned before the last one learned (None: fewer than two)
    old = [n for n in ns if r.final[f'learned_at_n{n}'] >= 0][:-1]
    return float(np.mean([r.final[f'accuracy_n{n}'] for n in old])) if old else None

  rows = [('multi-head learns more N within the budget', final(multi, 'ns_learned'), final(single, 'ns_learned'))]
  if both:
    first, top = min(both), max(both)
    rows.append(
      (
        f'multi-head learns N={top} sooner (single - multi steps; N={top}: the largest N every run learned)',
        final(single, f'learned_at_n{top}'),
        final(multi, f'learned_at_n{top}'),
      )
    )
    if any(r.final[f'tau_at_n{top}'] > 0 for r in single + multi):
      rows.append(
        (
          f'single-head tau at N={top} above multi-head',
          final(single, f'tau_at_n{top}'),
          final(multi, f'tau_at_n{top}'),
        )
      )
      for kind, runs in (('single', single), ('multi', multi)):
        rise = claims.by_seed(runs, lambda r: r.final[f'tau_at_n{top}'] - r.final[f'tau_at_n{first}'], finite_only=True)
        rows.append((f'{kind}-head tau rises from N={first} to N={top}', rise, dict.fromkeys(rise, 0.0)))
  rows.append(
    (
      'multi-head keeps earlier N above single-head (mean final accuracy on the earlier learned N)',
      claims.by_seed(multi, earlier, finite_only=True),
      claims.by_seed(single, earlier, finite_only=True),
    )
  )
  rows.append(
    (
      'multi-head median single-neuron tau below single-head (tau kept near 1)',
      measure(single, 'tau_median'),
      measure(multi, 'tau_median'),
    )
  )
  rows.append(('multi-head tau_net above single-head', measure(multi, 'tau_net'), measure(single, 'tau_net')))
  for k in (
    f'ablate_long_{ABLATE[-1]}',
    f'ablate_random_{ABLATE[-1]}',
    f'perturb_{PERTURB[1]}',
    f'perturb_{PERTURB[-1]}',
  ):
    rows.append((f'multi-head more robust: {k}', measure(multi, k), measure(single, k)))
  lines = ['Claims, seed-paired (gap = A - B of "A above B", ± its standard error; launch/claims.py):', '']
  lines += ['| claim | gap | verdict |', '|---|---|---|']
  for claim, a, b in rows:
    gap = claims.paired_gap(a, b)
    lines.append(f'| {claim} | {claims.gap_text(gap, 3)} | {claims.above(gap)} |')
  single_earlier = [earlier(r) for r in single]
  lines += ['', f'Single-head mean final accuracy on its earlier learned N: {_cell(single_earlier)} (chance 0.5)', '']
  return lines


def _plot(families: dict, measured: dict, path: str) -> None:
  import matplotlib

  matplotlib.use('Agg')
  from matplotlib.figure import Figure

  fig = Figure(figsize=(16, 3.6))
  axes = fig.subplots(1, 4)
  for (task, core), kinds in sorted(families.items()):
    for kind, runs in sorted(kinds.items()):
      label, ns = f'{task} {kind} {core}', _ns(runs[0].final)
      for ax, prefix in ((axes[0], 'learned_at_n'), (axes[1], 'tau_at_n')):
        xs, ys = [], []
        for r in runs:
          for n in ns:
            v = r.final[f'{prefix}{n}']
            if (v >= 0 if prefix == 'learned_at_n' else v > 0) and r.final[f'learned_at_n{n}'] >= 0:
              xs.append(n), ys.append(v)
        if xs:
          ax.scatter(np.asarray(xs) + (0.1 if kind == 'multi' else -0.1), ys, s=12, label=label)
      ms = [measured[id(r)] for r in runs]
      if ms and f'perturb_{PERTURB[-1]}' in ms[0]:

        def avg(key, ms=ms):  # over the networks where it is defined (robustness is NaN below MIN_INTACT)
          v = [m[key] for m in ms if math.isfinite(m.get(key, math.nan))]
          return float(np.mean(v)) if v else math.nan

        axes[2].plot(PERTURB, [avg(f'perturb_{e}') for e in PERTURB], marker='o', label=label)
        ys = [avg(f'ablate_long_{k}') for k in ABLATE]
        (line,) = axes[3].plot(ABLATE, ys, marker='s', label=f'{label}: longest-tau units')
        ys = [avg(f'ablate_random_{k}') for k in ABLATE]
        axes[3].plot(ABLATE, ys, marker='s', ls='--', color=line.get_color(), label=f'{label}: random units')
  axes[0].set(xlabel='N', ylabel='step learned', title='training speed')
  axes[1].set(xlabel='N', ylabel='mean single-neuron tau', title='tau when N was learned')
  axes[2].set(xlabel='eps', ylabel='accuracy kept above chance', xscale='log', title='W_rec perturbation')
  axes[3].set(xlabel='units ablated', ylabel='accuracy kept above chance', title='ablation')
  for ax in axes:
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
      ax.legend(fontsize=6)
  fig.tight_layout()
  fig.savefig(path, dpi=90, metadata={'Software': None})
