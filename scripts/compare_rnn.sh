#!/usr/bin/env bash
# Side by side: rustflow's recurrent MNIST (`examples/mnist_rnn`, LSTM 128 over 28 steps,
# batch 128, Adam) against its TensorFlow twin (`scripts/tf_mnist_rnn.py`), static_rnn and
# dynamic_rnn, run alternately ROUNDS times (interleaved, so both see the same machine load);
# then per form the median of each side's medians and their ratio (rustflow / TensorFlow).
# The same output as `scripts/compare.sh` (a `rnn` mode there can call this).
#
#   scripts/compare_rnn.sh                   # both forms
#   ROUNDS=5 STEPS=50 scripts/compare_rnn.sh dynamic
#   BIN=path/to/mnist_rnn scripts/compare_rnn.sh    # a prebuilt binary (e.g. main's)
set -euo pipefail
forms=${1:-static dynamic}
rounds=${ROUNDS:-3}
steps=${STEPS:-30}
data=${MNIST_DATA_DIR:-../shared/mnist}
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL=3
[ -n "${BIN:-}" ] || cargo build --release --example mnist_rnn -q
bin=${BIN:-target/release/examples/mnist_rnn}
step_re='train step: median ([0-9.]+) ms'
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
for form in $forms; do
    flag=()
    [ "$form" = dynamic ] && flag=(--dynamic)
    rf="" tf=""
    for r in $(seq "$rounds"); do
        out=$("$bin" --data-dir "$data" --bench "$steps" "${flag[@]}" 2>&1) || { echo "$out"; exit 1; }
        [[ $out =~ $step_re ]] && rf+="${BASH_REMATCH[1]} "
        out=$(python3 scripts/tf_mnist_rnn.py --data-dir "$data" --bench "$steps" "${flag[@]}" 2>&1) || { echo "$out"; exit 1; }
        [[ $out =~ $step_re ]] && tf+="${BASH_REMATCH[1]} "
        echo "$form round $r: rustflow step $rf| TensorFlow step $tf" >&2
    done
    r=$(echo "$rf" | median)
    t=$(echo "$tf" | median)
    awk -v f="$form" -v r="$r" -v t="$t" 'BEGIN {
        printf "%-8s step rustflow %8.2f ms   TensorFlow %8.2f ms   ratio %.2f\n", f, r, t, r / t }'
done
echo "(mnist_rnn, $rounds interleaved rounds of $steps steps; medians of the per-run medians)"
