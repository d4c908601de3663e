"""SDR theory (Ahmad & Hawkins 2016): closed-form match probabilities against Monte-Carlo, as one entry point.

`run` computes, for a grid of (n, a, s, theta):
  1. false matches: the closed form (log space) and a Monte-Carlo estimate with 10^5-10^6 random SDRs (sequential
     selection sampler, every theta from one histogram), plus a cross-check of that sampler against the explicit
     one (materialised SDRs) on a few points; agreement is judged by an exact two-sided binomial test per point;
  2. how fast false matches fall with n (decades from the smallest to the largest n);
  3. the union property: a segment holding s synapses of each of M patterns, exact union formula, the paper's
     s -> M*s bound, and Monte-Carlo (explicit SDRs);
  4. false negatives under noise (v of the a active cells moved): closed form and Monte-Carlo.
It writes results.json, tables.md and four PNG plots into `workdir`, and the summary as its final metrics.

A short loop on the run engine (common/train/engine.py): step b adds batch b's `batch_size` Monte-Carlo samples to
every grid point's overlap histogram (the checkpointed state), so a long estimate resumes where it stopped and a
vmapped multi-seed run keeps one histogram set per seed (the seeds' samplers run one after another on the host:
they are jitted per grid point, not one vmapped program). The smaller tables are computed at the end, each a pure
function of the seed.
"""

import json
import os
from collections.abc import Sequence

import jax
import numpy as np
from scipy import stats

from common.dendritic import sdr
from common.train import engine
from common.train.errors import ConfigurationError
from projects.sdr_theory import analysis


def _binom_pvalue(hits: int, total: int, p: float) -> float:
  if p <= 0.0:
    return 1.0 if hits == 0 else 0.0
  return float(stats.binomtest(hits, total, min(p, 1.0)).pvalue)


def grid_points(n_values, a_values, s_values) -> list[tuple[int, int, int]]:
  return [(n, a, s) for n in n_values for a in a_values for s in s_values if s <= a]


def add_batch(hist: np.ndarray, key, points, batch: int, batch_size: int, chunk: int) -> np.ndarray:
  """hist (P, S+1) plus the overlap counts of batch `batch` (batch_size samples) at every grid point."""
  out = np.array(hist)
  for i, (n, a, s) in enumerate(points):
    k = jax.random.fold_in(jax.random.fold_in(key, i), batch)
    out[i, : s + 1] += sdr.overlap_histogram(k, n, a, s, num_samples=batch_size, chunk=chunk, method='sequential')
  return out


def false_match_rows(hist: np.ndarray, points) -> list[dict]:
  rows = []
  for i, (n, a, s) in enumerate(points):
    h = hist[i, : s + 1]
    total = int(h.sum())
    for theta in range(1, s + 1):
      exact_log10 = sdr.false_match_log10(n, a, s, theta)
      exact = 10.0**exact_log10
      hits = int(h[theta:].sum())
      rows.append(
        {
          'n': n,
          'a': a,
          's': s,
          'theta': theta,
          'exact': exact,
          'exact_log10': exact_log10,
          'mc': hits / total,
          'mc_hits': hits,
          'samples': total,
          'pvalue': _binom_pvalue(hits, total, exact),
        }
      )
  return rows


def explicit_check(key, points, num_samples, chunk):
  rows = []
  for i, (n, a, s) in enumerate(points):
    hist = sdr.overlap_histogram(jax.random.fold_in(key, i), n, a, s, num_samples=num_samples, chunk=chunk)
    total = int(hist.sum())
    for theta in range(1, s + 1):
      exact = sdr.false_match(n, a, s, theta)
      hits = int(hist[theta:].sum())
      rows.append(
        {
          'n': n,
          'a': a,
          's': s,
          'theta': theta,
          'exact': exact,
          'mc': hits / total,
          'samples': total,
          'pvalue': _binom_pvalue(hits, total, exact),
        }
      )
  return rows


def union_table(key, n_values, a, s, theta, unions, mc_n, mc_unions, num_samples, chunk):
  rows = []
  for n in n_values:
    for m in unions:
      rows.append(
        {
          'n': n,
          'a': a,
          's': s,
          'theta': theta,
          'union': m,
          'exact_log10': sdr.log_false_match_union(n, a, s, theta, m) / np.log(10),
          'paper_bound_log10': sdr.log_false_match_union(n, a, s, theta, m, exact=False) / np.log(10),
        }
      )
  mc = []
  for i, m in enumerate(mc_unions):
    hist = sdr.overlap_histogram(jax.random.fold_in(key, i), mc_n, a, s, union=m, num_samples=num_samples, chunk=chunk)
    total, hits = int(hist.sum()), int(hist[theta:].sum())
    exact = sdr.false_match_union(mc_n, a, s, theta, m)
    mc.append(
      {
        'n': mc_n,
        'a': a,
        's': s,
        'theta': theta,
        'union': m,
        'exact': exact,
        'mc': hits / total,
        'samples': total,
        'pvalue': _binom_pvalue(hits, total, exact),
        'paper_bound': sdr.false_match_union(mc_n, a, s, theta, m, exact=False),
      }
    )
  return rows, mc


def false_negative_table(key, a, s, thetas, noise_values, num_samples, chunk):
  rows = []
  for i, v in enumerate(noise_values):
    hist = sdr.kept_histogram(jax.random.fold_in(key, i), a, s, v, num_samples=num_samples, chunk=chunk)
    total = int(hist.sum())
    for theta in thetas:
      exact = sdr.false_negative(a, s, theta, v)
      misses = int(hist[:theta].sum())
      rows.append(
        {
          'a': a,
          's': s,
          'theta': theta,
          'v': v,
          'exact': exact,
          'mc': misses / total,
          'samples': total,
          'pvalue': _binom_pvalue(misses, total, exact),
        }
      )
  return rows


def run(
  *,
  seed: int,
  workdir: str,
  dry_run: bool = False,
  n_values: Sequence[int] = (256, 512, 1024, 2048, 4096),
  a_values: Sequence[int] = (20, 40, 64),
  s_values: Sequence[int] = (8, 16, 24),
  num_batches: int = 16,
  batch_size: int = 65536,
  explicit_points: Sequence[tuple[int, int, int]] = ((256, 20, 8), (1024, 40, 16)),
  explicit_samples: int = 65536,
  union_a: int = 40,
  union_s: int = 16,
  union_theta: int = 10,
  unions: Sequence[int] = tuple(range(1, 21)),
  union_mc_n: int = 1024,
  union_mc_unions: Sequence[int] = (1, 2, 5, 10, 20),
  union_samples: int = 16384,
  fn_a: int = 40,
  fn_s: int = 16,
  fn_thetas: Sequence[int] = (8, 12),
  fn_noise: Sequence[int] = (0, 5, 10, 15, 20, 25, 30),
  fn_samples: int = 65536,
  chunk: int = 8192,
) -> dict:
  """Runs the SDR-theory checks. Monte-Carlo samples for the main grid: num_batches * batch_size.

  Args:
    seed: every random stream derives from it (fold_in per table and per grid point).
    workdir: output directory; dry_run: print the plan and compute nothing.
    n_values, a_values, s_values: the false-match grid (points with s > a are skipped; theta runs over 1..s).
    num_batches, batch_size: Monte-Carlo samples of the main grid (the configs bind NUM_STEPS and BATCH_SIZE).
    explicit_points, explicit_samples: (n, a, s) points re-estimated with explicit SDRs.
    union_*, unions: the union table (closed form over n_values x unions; Monte-Carlo at union_mc_n).
    fn_*: the false-negative table.
    chunk: Monte-Carlo samples per vectorised chunk.
  """
  grid = [(n, a, s) for n in n_values for a in a_values for s in s_values if s <= a]
  if not grid:
    raise ConfigurationError(f's_values={tuple(s_values)} are all above a_values={tuple(a_values)}: no grid points.')
  for n, a, s in grid:
    sdr.check_sdr(n, a, s, 1)
  sdr.check_sdr(max(n_values), union_a, union_s, union_theta, union=max(unions, default=1))
  for theta in fn_thetas:
    sdr.check_sdr(fn_a, fn_a, fn_s, theta)
  num_samples = int(num_batches) * int(batch_size)
  plan = {
    'grid_points': len(grid),
    'samples_per_point': num_samples,
    'explicit_points': len(explicit_points),
    'union_mc': len(union_mc_unions),
    'fn_noise': len(fn_noise),
  }
  run = engine.Run(seed=seed, workdir=workdir, dry_run=dry_run, total_steps=int(num_batches), keep_checkpoints=2)
  if run.dry_run:
    print('SDR theory plan:', json.dumps(plan))
    return plan

  width = max(s for _, _, s in grid) + 1
  state = run.resume({'hist': np.zeros((len(run.seeds), len(grid), width) if run.vmapped else (len(grid), width),
                                        np.int32)})  # fmt: skip
  hists = [np.asarray(h['hist'], np.int64) for h in run.members_of(state)]
  roots = [jax.random.PRNGKey(s) for s in run.seeds]
  for b in range(run.start_step, int(num_batches)):
    hists = [add_batch(h, jax.random.fold_in(r, 0), grid, b, int(batch_size), min(chunk, int(batch_size)))
             for h, r in zip(hists, roots)]  # fmt: skip
    if b == run.start_step:
      run.first_step_done(b + 1, hists)
    rows = [false_match_rows(h, grid) for h in hists]
    consistent = [{'fraction_pvalue_above_0.01': float(np.mean([r['pvalue'] > 0.01 for r in rs])),
                   'samples_per_point': float(rs[0]['samples'])} for rs in rows]  # fmt: skip
    run.log_rows(b + 1, 'train', consistent, show='fraction_pvalue_above_0.01')
    # The finiteness probe in float32: the int32 counts' sum of squares would overflow past ~46k samples.
    run.save(b + 1, {'hist': run.stack([h.astype(np.int32) for h in hists])},
             probe=run.stack([h.astype(np.float32) for h in hists]))  # fmt: skip

  finals = []
  for h, key, member_dir in zip(hists, roots, run.workdirs):
    fm = false_match_rows(h, grid)
    ex = explicit_check(jax.random.fold_in(key, 1), explicit_points, explicit_samples, min(chunk, explicit_samples))
    un, un_mc = union_table(
      jax.random.fold_in(key, 2), n_values, union_a, union_s, union_theta, unions, union_mc_n, union_mc_unions,
      union_samples, min(chunk, union_samples),
    )  # fmt: skip
    fn = false_negative_table(
      jax.random.fold_in(key, 3), fn_a, fn_s, fn_thetas, fn_noise, fn_samples, min(chunk, fn_samples)
    )
    summary = summarise(fm, ex, un, un_mc, fn, n_values)
    results = {'plan': plan, 'summary': summary, 'false_match': fm, 'explicit_check': ex, 'union': un,
               'union_mc': un_mc, 'false_negative': fn}  # fmt: skip
    if run.is_chief:
      engine.write_json(os.path.join(member_dir, 'results.json'), results)
      analysis.write_all(results, member_dir)
    finals.append({'step': int(num_batches), **{k: v for k, v in summary.items() if isinstance(v, int | float)}})
  return run.finish(finals)


def summarise(fm, ex, un, un_mc, fn, n_values) -> dict:
  checked = [r for r in fm + ex + un_mc + fn]
  passed = [r for r in checked if r['pvalue'] > 0.01]
  resolvable = [r for r in fm if r['exact'] * r['samples'] >= 20]
  z = [abs(r['mc'] - r['exact']) / np.sqrt(r['exact'] * (1 - r['exact']) / r['samples']) for r in resolvable]
  # Decades lost from the smallest to the largest n at theta = s / 2 (mean over (a, s)).
  drops = []
  for a, s in {(r['a'], r['s']) for r in fm}:
    lo = [r for r in fm if (r['a'], r['s'], r['theta'], r['n']) == (a, s, s // 2, min(n_values))]
    hi = [r for r in fm if (r['a'], r['s'], r['theta'], r['n']) == (a, s, s // 2, max(n_values))]
    if lo and hi:
      drops.append(lo[0]['exact_log10'] - hi[0]['exact_log10'])
  return {
    'points_checked': len(checked),
    'fraction_pvalue_above_0.01': len(passed) / max(len(checked), 1),
    'resolvable_points': len(resolvable),
    'max_abs_z_resolvable': float(max(z)) if z else float('nan'),
    'min_decades_drop_over_n': float(min(drops)) if drops else float('nan'),
    'max_decades_drop_over_n': float(max(drops)) if drops else float('nan'),
  }
