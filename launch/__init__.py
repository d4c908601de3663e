"""The `launch` command: flags -> platform -> gin (with provenance) -> validation -> run artifacts -> entry point.

main.py         the absl app and its fixed, ordered flow
gin_args.py     `--gin.X=Y` shorthand and gin file search
config_model.py gin files as statements with provenance (file, line) and canonical values
validate.py     checks before anything is written: imports, unknown names, REQUIRED values, the entry point
typecheck.py    every bound value against its parameter's annotation (int, float, bool, Literal, unions, ...)
build_check.py  validation by building: the entry point's dry run before the workdir exists, errors located
workdir_guard.py the workdir checked before writing, undone after a failed start, error.txt after a crash
workdir_lock.py one run per workdir: a kernel flock on <workdir>/.launch.lock
gin_setup.py    parse into gin, ENTRY_POINT wiring, friendly gin errors
artifacts.py    the run's config/ folder and the workdir-consistency check
platform.py     --platform selection before JAX starts
experiment.py   the root configurable the launcher calls
errors.py       UsageError (exit status 2, no traceback) and the exit statuses
diff.py         `launch diff A B`: semantic key-by-key config review (code defaults, provenance, checkpoint checks)
hyper.py        the sweep vocabulary: sweep, product, zip, chain, seeded random search
sweep.py        --sweep/--list_trials/--trial and the local N-worker mode (stable trial ids, resumable)
sweep_report.py the results table (Markdown, CSV) and plot of a sweep
vmapped.py      --vmap_trials: numeric-only trials as one vmapped program
trials.py       trial bookkeeping shared by sweeps, studies and reports: ids, ROOT/<id>, trial.json, atomic JSON
study.py        --study: adaptive search on Optuna (`def search(h)`), workers sharing one storage, pruning, retries
report.py       `launch report ROOT`: mean ± std over seeds of every run under a root (md, csv, json, png)
distributed.py  jax.distributed before devices are touched; config-hash agreement across processes
multiprocess.py `python -m launch.multiprocess --num_processes=N -- <launch args>`: a pod on one machine
"""
