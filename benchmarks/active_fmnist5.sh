#!/usr/bin/env bash
# fmnist-5 with er: the dataset's random labels vs each active-learning strategy, 5 labels per class.
# Seeds outer, strategies inner, so a machine's load drifts over all rows alike.
#   benchmarks/active_fmnist5.sh OUT_DIR [SSCL]        then: sscl report OUT_DIR --reference er
set -euo pipefail
out=${1:?usage: active_fmnist5.sh OUT_DIR [SSCL]}
sscl=${2:-sscl}
common=(--dataset fashion-mnist --method er --set train.iters_per_task=500 --set "output_dir=$out")
for seed in 0 1 2; do
    "$sscl" run "${common[@]}" --set seed=$seed --set run_name=er-s$seed
    for strategy in random least-confidence margin entropy qbc; do
        "$sscl" run "${common[@]}" --set seed=$seed --set run_name=er+$strategy-s$seed \
            --set active_learning.strategy=$strategy --set active_learning.budget_per_class=5
    done
done
