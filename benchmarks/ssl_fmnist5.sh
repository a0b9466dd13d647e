#!/usr/bin/env bash
# fmnist-5: der vs the seed's semi-supervised compositions (der+fixmatch, der+flexmatch, der+uda, der+mixmatch,
# er+fixmatch), every method with its defaults, 500 iterations per task, seeds 0-2. Seeds outer, methods inner, so
# a machine's load drifts over all rows alike; JOBS runs go side by side, each with one torch thread.
#   benchmarks/ssl_fmnist5.sh OUT_DIR [SSCL] [JOBS]      then: python benchmarks/summarize.py OUT_DIR --reference der
set -euo pipefail
export OUT=${1:?usage: ssl_fmnist5.sh OUT_DIR [SSCL] [JOBS]}
export SSCL=${2:-sscl}
jobs=${3:-1}
export OMP_NUM_THREADS=1
mkdir -p "$OUT"
run_one() {
    "$SSCL" run --dataset fashion-mnist --method "$1" --set seed="$2" --set run_name="$1-s$2" \
        --set train.iters_per_task=500 --set "output_dir=$OUT" >"$OUT/$1-s$2.log" 2>&1
}
export -f run_one
for seed in 0 1 2; do
    for method in der der+fixmatch der+flexmatch der+uda der+mixmatch er+fixmatch; do
        echo "$method $seed"
    done
done | xargs -P "$jobs" -L 1 bash -c 'run_one "$@"' _
