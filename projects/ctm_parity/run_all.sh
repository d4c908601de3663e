#!/usr/bin/env bash
# Runs every parity experiment for the given seeds, one after another, into $ROOT/<experiment>_s<seed>.
#   SEEDS="0" ROOT=/tmp/ctm_parity bash projects/ctm_parity/run_all.sh
# NUM_STEPS (optional) overrides the configs' step count; EXPERIMENTS picks a subset; LOCK=/tmp/brainnets-cpu.lock
# runs each experiment under `flock LOCK` (one locked command per run on a shared machine).
# then: .venv/bin/python -m projects.ctm_parity.report --root=/tmp/ctm_parity
set -euo pipefail
ROOT=${ROOT:-/tmp/ctm_parity}
SEEDS=${SEEDS:-"0 1 2"}
STEPS_ARGS=()
if [ -n "${NUM_STEPS:-}" ]; then STEPS_ARGS=(--gin.NUM_STEPS="$NUM_STEPS" --gin.EVAL_EVERY="$NUM_STEPS" --gin.CHECKPOINT_EVERY="$NUM_STEPS"); fi
EXPERIMENTS=${EXPERIMENTS:-"ctm_t16 lstm_t16 ctm_t1 ctm_t4 ctm_t8 ablation_shared_nlm ablation_post_readout lstm_t1 lstm_t4 lstm_t8"}
for seed in $SEEDS; do
  for exp in $EXPERIMENTS; do
    dir="$ROOT/${exp}_s${seed}"
    if [ -f "$dir/final_metrics.json" ]; then continue; fi
    ${LOCK:+flock "$LOCK"} .venv/bin/python -m launch --gin_file="configs/ctm_parity/${exp}.gin" --workdir="$dir" \
      --gin.SEED="$seed" "${STEPS_ARGS[@]}" \
      > "$ROOT/${exp}_s${seed}.log" 2>&1 || echo "failed: $exp seed $seed" >&2
  done
done
