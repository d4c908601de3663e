#!/usr/bin/env bash
# The CTM's GPU measurements in one call on a GPU machine (issue #17): each stage bounded by a timeout, every output
# copied to $OUT (default /tmp/device_ctm) as it finishes, so a stage that fails or runs out leaves the others' files.
#
#   1. benchmarks/bench_ctm.py --rounds=3: our parity-16 train step and forward against the reference PyTorch CTM,
#      both on the GPU, alternating rounds (-> ctm_rounds_gpu.json)
#   2. configs/ctm_parity/paper_parity64.gin trained 60 steps at the paper's batch 64 (-> parity64_metrics.jsonl;
#      steps_per_sec there is counted from the first step, so compilation is left out)
#   3. configs/ctm_paper/paper_maze.gin trained 30 steps at the paper's batch 64, 512 training mazes, then its
#      39x39 and 99x99 test on 8 mazes with at most 3 applications (-> metrics.jsonl, final_metrics.json)
#   4. benchmarks/bench_ctm.py without rounds: adds the bfloat16 and XLA-default rows (-> ctm_gpu.json)
#   5, 6. the same two at the paper's parity-64 scale, --workload=parity64 (-> ctm_parity64_rounds_gpu.json,
#      ctm_parity64_gpu.json)
#   7. the maze paper config as in 3 with CTM.remat_ticks=False (-> maze_noremat_metrics.jsonl)
# STAGES (default all: "rounds parity64 maze table p64rounds p64table mazenoremat") picks some.
#
# Needs: JAX with CUDA, flax, optax, orbax, chex and torch (what the lent H200's image has), gin-config and
# ml-collections (carried as wheels in .whl/ when missing), and a checkout of SakanaAI/continuous-thought-machines in
# CTM_REFERENCE_DIR (default .ctm_ref). From the repo root:
#   bash benchmarks/device_ctm.sh
set -u
OUT=${OUT:-/tmp/device_ctm}
PY=${PY:-python3}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
# The rounds rebuild the same programs; the persistent cache compiles each once.
export JAX_COMPILATION_CACHE_DIR=/tmp/jax_cache JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0
if compgen -G '.whl/*.whl' >/dev/null; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 3
  export PYTHONPATH=/tmp/site
fi
nvidia-smi -L
$PY - <<'EOF' || exit 3
import importlib
for m in ('jax', 'flax', 'optax', 'orbax.checkpoint', 'chex', 'gin', 'torch'):
  print(m, getattr(importlib.import_module(m), '__version__', '?'))
import jax
print('jax devices:', jax.devices())
import benchmarks.bench_ctm, launch.main, projects.ctm_maze.experiment  # noqa: F401,E401  fails fast on an API change
EOF

STAGES=${STAGES:-rounds parity64 maze table p64rounds p64table mazenoremat}
stage() {  # stage NAME SECONDS COMMAND...: runs it with a timeout (if NAME is in $STAGES), logs to $OUT/NAME.log
  local name=$1 secs=$2
  shift 2
  [[ " $STAGES " == *" $name "* ]] || return 1
  echo "== $name ($(date -u +%T))"
  timeout "$secs" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  echo "== $name exit $rc ($(date -u +%T))"
  tail -n 25 "$OUT/$name.log"
  return $rc
}

export CTM_PEER_DEVICE=cuda CTM_PEER_PYTHON=$PY CTM_REFERENCE_DIR=${CTM_REFERENCE_DIR:-.ctm_ref}
stage rounds 180 $PY -m benchmarks.bench_ctm --rounds=3 &&
  cp benchmarks/results/ctm_rounds.json "$OUT/ctm_rounds_gpu.json"

stage parity64 110 $PY -m launch --platform=gpu --gin_file=configs/ctm_parity/paper_parity64.gin --workdir=/tmp/p64 \
  --gin.NUM_STEPS=60 --gin.LOG_EVERY=20 --gin.EVAL_EVERY=1000000 --gin.CHECKPOINT_EVERY=1000000 \
  --gin.tasks.ParityTask.eval_examples=500 &&
  cp /tmp/p64/metrics.jsonl "$OUT/parity64_metrics.jsonl"

stage maze 170 $PY -m launch --platform=gpu --gin_file=configs/ctm_paper/paper_maze.gin --workdir=/tmp/maze \
  --gin.NUM_STEPS=30 --gin.LOG_EVERY=10 --gin.EVAL_EVERY=1000000 --gin.CHECKPOINT_EVERY=1000000 \
  --gin.NUM_TRAIN=512 --gin.EVAL_EXAMPLES=8 --gin.experiment.run.max_applications=3 &&
  cp /tmp/maze/metrics.jsonl /tmp/maze/final_metrics.json "$OUT/"

stage table 110 $PY -m benchmarks.bench_ctm &&
  cp benchmarks/results/ctm.json "$OUT/ctm_gpu.json"

stage p64rounds 200 $PY -m benchmarks.bench_ctm --workload=parity64 --rounds=3 &&
  cp benchmarks/results/ctm_parity64_rounds.json "$OUT/ctm_parity64_rounds_gpu.json"

stage p64table 200 $PY -m benchmarks.bench_ctm --workload=parity64 &&
  cp benchmarks/results/ctm_parity64.json "$OUT/ctm_parity64_gpu.json"

stage mazenoremat 150 $PY -m launch --platform=gpu --gin_file=configs/ctm_paper/paper_maze.gin --workdir=/tmp/maze_nr \
  --gin.NUM_STEPS=30 --gin.LOG_EVERY=10 --gin.EVAL_EVERY=1000000 --gin.CHECKPOINT_EVERY=1000000 \
  --gin.NUM_TRAIN=512 --gin.EVAL_EXAMPLES=8 --gin.experiment.run.max_applications=3 --gin.ctm.CTM.remat_ticks=False &&
  cp /tmp/maze_nr/metrics.jsonl "$OUT/maze_noremat_metrics.jsonl"
