#!/usr/bin/env bash
# Runs the maze CTM and its parameter-matched LSTM for the given seeds, one run after another, into
# $ROOT/<model>_s<seed> (the names projects/ctm_maze/report.py groups by), then tabulates them.
#   SEEDS="0 1 2" ROOT=/tmp/ctm_maze LOCK=/tmp/brainnets-cpu.lock bash projects/ctm_maze/run_all.sh
# LOCK (optional) runs each training run under `flock LOCK` (one locked command per run on a shared machine);
# finished runs (with final_metrics.json) are skipped, unfinished ones resume from their last checkpoint.
set -euo pipefail
ROOT=${ROOT:-/tmp/ctm_maze}
SEEDS=${SEEDS:-"0 1 2"}
MODELS=${MODELS:-"ctm lstm"}
mkdir -p "$ROOT"
for seed in $SEEDS; do
  for model in $MODELS; do
    dir="$ROOT/${model}_s${seed}"
    if [ -f "$dir/final_metrics.json" ]; then continue; fi
    ${LOCK:+flock "$LOCK"} .venv/bin/python -m launch --gin_file="configs/ctm_maze/${model}_maze.gin" --workdir="$dir" \
      --gin.SEED="$seed" > "$ROOT/${model}_s${seed}.log" 2>&1 || echo "failed: $model seed $seed" >&2
  done
done
.venv/bin/python -m projects.ctm_maze.report "$ROOT" --out projects/ctm_maze/results
