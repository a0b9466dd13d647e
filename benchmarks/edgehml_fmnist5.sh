#!/usr/bin/env bash
# fmnist-5: edgehml (its fmnist-5 preset) vs finetune, der, der+fixmatch, der+flexmatch, plus EdgeHML's ablations
# (no progressive schedule, no disk tier, no pseudo-label replay), 500 iterations per task, seeds 0-2. Seeds outer,
# methods inner, so a machine's load drifts over all rows alike; JOBS runs go side by side, one torch thread each.
#   benchmarks/edgehml_fmnist5.sh OUT_DIR [SSCL] [JOBS]
#   then: python benchmarks/summarize.py OUT_DIR --reference der+fixmatch
set -euo pipefail
export OUT=${1:?usage: edgehml_fmnist5.sh OUT_DIR [SSCL] [JOBS]}
export SSCL=${2:-sscl}
jobs=${3:-1}
export OMP_NUM_THREADS=1
mkdir -p "$OUT"
run_one() {
    local label=$1 seed=$2
    shift 2
    "$SSCL" run "$@" --set seed="$seed" --set run_name="$label-s$seed" --set "output_dir=$OUT" \
        >"$OUT/$label-s$seed.log" 2>&1
}
export -f run_one
baseline() { echo "$1 $2 --dataset fashion-mnist --method $1 --set train.iters_per_task=500"; }
for seed in 0 1 2; do
    echo "edgehml $seed edgehml-fmnist-5"
    baseline der+fixmatch "$seed"
    echo "edgehml-no-progressive $seed edgehml-fmnist-5 --set method.warmup=0"
    baseline der "$seed"
    echo "edgehml-no-disk-tier $seed edgehml-fmnist-5 --set memory_pool.disk_size=0"
    baseline der+flexmatch "$seed"
    echo "edgehml-no-pseudo-replay $seed edgehml-fmnist-5 --set method.lambda_unsup_replay=0"
    baseline finetune "$seed"
done | xargs -P "$jobs" -L 1 bash -c 'run_one "$@"' _
