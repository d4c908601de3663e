"""The curricula's tables, measures and verdicts, as a `launch report` analysis.

  launch report ROOT --group_by=KIND,CORE --analysis=projects.emergent_timescales.analysis:curricula

ROOT holds runs of configs/emergent_timescales/curriculum.gin (sweeps/curricula.py). From each run's final metrics:
the N values learned (ns_learned), the step at which each N was learned (training speed), the mean single-neuron
tau when it was learned (tau against N), and the final accuracy of every N (single-head: the one head on earlier
N, i.e. forgetting; multi-head: each N's own head). From each run's final checkpoint (restored through the run's
operative config), on the N it trains on at the end (the stage n: multi-head, the largest N learned; single-head,
the N its one head is learning, since its earlier N are forgotten):
  - tau_net: the median over neurons of the network timescale (measures.exponential_timescale of the
    autocorrelation of activity under Bernoulli streams), and the median single-neuron tau;
  - ablation: accuracy with the `ABLATE` longest-tau (and as many random) units silenced;
  - perturbation: accuracy with W_rec + eps ||W_rec|| D / ||D|| for eps in PERTURB (mean over PERTURB_DRAWS draws).
Robustness is reported as the accuracy kept above chance, (acc - 0.5) / (intact acc - 0.5), for networks whose
intact accuracy is at least MIN_INTACT. The two kinds may end on different N (a multi-head network that reached
N_MAX is scored on a harder N than a single-head one that did not): the table shows n_eval.

Writes <out>/curricula.png (learned step and tau against N per kind; robustness curves) and returns Markdown
tables with a verdict per claim (a difference counts when the two means differ by more than two standard errors
of their difference; otherwise 'not resolved').
"""

import math
import os
import re

import numpy as np

from launch import report as report_lib

ABLATE = (4, 8, 16)
PERTURB = (0.1, 0.3, 1.0)
PERTURB_DRAWS = 4
EVAL_BATCHES = 4
MIN_INTACT = 0.75  # robustness is measured only on networks that (largely) solve their N
ACTIVITY_STREAMS, ACTIVITY_LENGTH, MAX_LAG = 8, 2000, 50


def _label(run: report_lib.Run) -> tuple[str, str]:
  """(kind, core name) of a curriculum run, e.g. ('multi', 'LeakyRNN')."""
  core = run.values.get('CORE')
  name = core.get('@', '') if isinstance(core, dict) else str(core or 'LeakyRNN')
  return str(run.values.get('KIND')), name.rsplit('.', 1)[-1] or 'LeakyRNN'


def _ns(final: dict) -> list[int]:
  return sorted(int(m.group(1)) for k in final if (m := re.fullmatch(r'learned_at_n(\d+)', k)))


def _mean_sd(values) -> str:
  v = [float(x) for x in values if x is not None and math.isfinite(float(x))]
  if not v:
    return '-'
  sd = np.std(v, ddof=1) if len(v) > 1 else float('nan')
  return f'{np.mean(v):.3g} ± {sd:.2g} (n={len(v)})' if len(v) > 1 else f'{v[0]:.3g} (n=1)'


def _verdict(a, b, names=('single', 'multi')) -> str:
  """'<name> higher/lower' when the means differ by > 2 SE of the difference (Welch), else 'not resolved'."""
  a, b = [float(x) for x in a if math.isfinite(float(x))], [float(x) for x in b if math.isfinite(float(x))]
  if len(a) < 2 or len(b) < 2:
    return 'not resolved (fewer than 2 runs)'
  diff = np.mean(b) - np.mean(a)
  se = math.sqrt(np.var(a, ddof=1) / len(a) + np.var(b, ddof=1) / len(b))
  if abs(diff) <= 2 * se:
    return f'not resolved ({names[1]} - {names[0]} = {diff:.3g}, 2 SE = {2 * se:.2g})'
  word = 'higher' if diff > 0 else 'lower'
  return f'{names[1]} {word} than {names[0]} by {abs(diff):.3g} (2 SE = {2 * se:.2g})'


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
      units = measures.units_by_tau(taus, k) if taus is not None else rng.choice(hidden, k, replace=False)
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
  """Tables and verdicts for the single- vs multi-head curricula (see the module docstring)."""
  by_label: dict[tuple[str, str], list[report_lib.Run]] = {}
  for run in (r for g in report.groups for r in g.runs):
    if run.values.get('KIND') is not None and run.final and 'ns_learned' in run.final:
      by_label.setdefault(_label(run), []).append(run)
  if not by_label:
    return 'No finished curriculum runs (configs/emergent_timescales/curriculum.gin) under this root.\n'
  lines, measured = [], {}
  ns = _ns(next(iter(by_label.values()))[0].final)
  for lab, runs in sorted(by_label.items()):
    measured[lab] = [measure_run(r) for r in runs]

  lines += ['### Training speed and tau against N (mean ± sd over the runs that learned N)', '']
  lines += ['| kind | core | N learned | ' + ' | '.join(f'step N={n}' for n in ns) + ' |']
  lines += ['|' + '---|' * (3 + len(ns))]
  for (kind, core), runs in sorted(by_label.items()):
    cells = [_mean_sd([r.final[f'learned_at_n{n}'] for r in runs if r.final[f'learned_at_n{n}'] >= 0]) for n in ns]
    lines.append(f'| {kind} | {core} | {_mean_sd([r.final["ns_learned"] for r in runs])} | ' + ' | '.join(cells) + ' |')
  lines += ['', '| kind | core | ' + ' | '.join(f'tau N={n}' for n in ns) + ' |', '|' + '---|' * (2 + len(ns))]
  for (kind, core), runs in sorted(by_label.items()):
    cells = [_mean_sd([r.final[f'tau_at_n{n}'] for r in runs if r.final[f'tau_at_n{n}'] > 0]) for n in ns]
    lines.append(f'| {kind} | {core} | ' + ' | '.join(cells) + ' |')

  lines += ['', '### Final accuracy on every N (single-head: the one head, i.e. forgetting of earlier N)', '']
  lines += ['| kind | core | ' + ' | '.join(f'N={n}' for n in ns) + ' |', '|' + '---|' * (2 + len(ns))]
  for (kind, core), runs in sorted(by_label.items()):
    lines.append(
      f'| {kind} | {core} | ' + ' | '.join(_mean_sd([r.final[f'accuracy_n{n}'] for r in runs]) for n in ns) + ' |'
    )

  keys = ['n_eval', 'intact', 'tau_median', 'tau_net'] + [f'ablate_long_{k}' for k in ABLATE]
  keys += [f'ablate_random_{k}' for k in ABLATE] + [f'perturb_{e}' for e in PERTURB]
  lines += ['', '### Final networks on their final N (robustness: accuracy kept above chance)', '']
  lines += ['| kind | core | ' + ' | '.join(keys) + ' |', '|' + '---|' * (2 + len(keys))]
  for lab in sorted(measured):
    cells = [_mean_sd([m.get(k, math.nan) for m in measured[lab] if m]) for k in keys]
    lines.append(f'| {lab[0]} | {lab[1]} | ' + ' | '.join(cells) + ' |')

  lines += ['', '### Verdicts (LeakyRNN)', '']
  single, multi = by_label.get(('single', 'LeakyRNN'), []), by_label.get(('multi', 'LeakyRNN'), [])
  ms, mm = measured.get(('single', 'LeakyRNN'), []), measured.get(('multi', 'LeakyRNN'), [])
  if single and multi:
    both = [n for n in ns if all(r.final[f'learned_at_n{n}'] >= 0 for r in single + multi)]
    top = max(both) if both else None

    def fin(runs, key):
      return [r.final[key] for r in runs]

    lines.append(f'- N learned within the budget: {_verdict(fin(single, "ns_learned"), fin(multi, "ns_learned"))}')
    if top is not None:
      lines.append(
        f'- steps to learn N={top} (largest N every run learned; lower is faster): '
        + _verdict(fin(single, f'learned_at_n{top}'), fin(multi, f'learned_at_n{top}'))
      )
      lines.append(
        f'- mean tau when N={top} was learned: ' + _verdict(fin(single, f'tau_at_n{top}'), fin(multi, f'tau_at_n{top}'))
      )
      first = min(both)
      for kind, runs in (('single', single), ('multi', multi)):
        rise = [r.final[f'tau_at_n{top}'] - r.final[f'tau_at_n{first}'] for r in runs]
        lines.append(f'- {kind}: tau(N={top}) - tau(N={first}) = {_mean_sd(rise)}')
    for kind, runs in (('single', single), ('multi', multi)):
      forgot = []
      for r in runs:
        old = [n for n in ns if r.final[f'learned_at_n{n}'] >= 0][:-1]
        forgot += [r.final[f'accuracy_n{n}'] for n in old]
      lines.append(f'- {kind}: final accuracy on earlier learned N (forgetting) = {_mean_sd(forgot)}')
    for k in ('tau_net', f'ablate_long_{ABLATE[-1]}', f'ablate_random_{ABLATE[-1]}', f'perturb_{PERTURB[-1]}'):
      lines.append(f'- {k}: ' + _verdict([m.get(k, math.nan) for m in ms if m], [m.get(k, math.nan) for m in mm if m]))
  _plot(by_label, measured, ns, os.path.join(out_dir, 'curricula.png'))
  lines += ['', 'Plot: curricula.png (step and tau at which each N was learned; robustness curves).']
  return '\n'.join(lines) + '\n'


def _plot(by_label, measured, ns, path) -> None:
  import matplotlib

  matplotlib.use('Agg')
  from matplotlib.figure import Figure

  fig = Figure(figsize=(16, 3.6))
  axes = fig.subplots(1, 4)
  for (kind, core), runs in sorted(by_label.items()):
    label = f'{kind} {core}'
    for ax, prefix in ((axes[0], 'learned_at_n'), (axes[1], 'tau_at_n')):
      xs, ys = [], []
      for r in runs:
        for n in ns:
          v = r.final[f'{prefix}{n}']
          if (v >= 0 if prefix == 'learned_at_n' else v > 0) and r.final[f'learned_at_n{n}'] >= 0:
            xs.append(n), ys.append(v)
      ax.scatter(np.asarray(xs) + (0.1 if kind == 'multi' else -0.1), ys, s=12, label=label)
    ms = [m for m in measured[(kind, core)] if m]
    if ms and 'perturb_1.0' in ms[0]:
      ys = [np.mean([m.get(f'perturb_{e}', np.nan) for m in ms]) for e in PERTURB]
      axes[2].plot(PERTURB, ys, marker='o', label=label)
      ys = [np.mean([m.get(f'ablate_long_{k}', np.nan) for m in ms]) for k in ABLATE]
      (line,) = axes[3].plot(ABLATE, ys, marker='s', label=f'{label}: longest-tau units')
      ys = [np.mean([m.get(f'ablate_random_{k}', np.nan) for m in ms]) for k in ABLATE]
      axes[3].plot(ABLATE, ys, marker='s', ls='--', color=line.get_color(), label=f'{label}: random units')
  axes[0].set(xlabel='N', ylabel='step learned', title='training speed')
  axes[1].set(xlabel='N', ylabel='mean single-neuron tau', title='tau when N was learned')
  axes[2].set(xlabel='eps', ylabel='accuracy kept above chance', xscale='log', title='W_rec perturbation')
  axes[3].set(xlabel='units ablated', ylabel='accuracy kept above chance', title='ablation')
  for ax in axes:
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6)
  fig.tight_layout()
  fig.savefig(path, dpi=90, metadata={'Software': None})
