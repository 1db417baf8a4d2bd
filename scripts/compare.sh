#!/usr/bin/env bash
# Side by side: rustflow's model (`examples/models`, or `deep_mnist`) against its TensorFlow
# twin, run alternately ROUNDS times (interleaved, so both see the same machine load), then the
# median of each side's medians, their ratio (rustflow / TensorFlow) and both peak RSS.
#
#   scripts/compare.sh cifar            # mlp | cifar | vgg | deep_mnist
#   ROUNDS=5 STEPS=200 scripts/compare.sh mlp
#   BIN=path/to/models scripts/compare.sh cifar   # a prebuilt binary (e.g. main's)
#   DOWNSTREAM=1 scripts/compare.sh cifar         # as a user's crate builds it (benches/downstream:
#                                                 # default flags, not this workspace's config)
set -euo pipefail
model=${1:?usage: scripts/compare.sh MODEL (mlp, cifar, vgg, deep_mnist)}
shift
rounds=${ROUNDS:-3}
steps=${STEPS:-100}
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL=3
if [ "$model" = deep_mnist ]; then
    data=${MNIST_DATA_DIR:-../shared/mnist}
    cargo build --release --example deep_mnist -q
    bin=${BIN:-target/release/examples/deep_mnist}
    rf=("$bin" --model cnn --data-dir "$data" --bench "$steps" "$@")
    tf=(python3 scripts/tf_deep_mnist.py --data-dir "$data" --steps "$steps")
    eval_re='test eval: ([0-9.]+) s'
    eval_unit=s
else
    if [ -n "${DOWNSTREAM:-}" ]; then
        manifest=$PWD/benches/downstream/Cargo.toml
        (cd / && env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS cargo build --release -q --manifest-path "$manifest")
        bin=${BIN:-benches/downstream/target/release/models}
    else
        cargo build --release --example models -q
        bin=${BIN:-target/release/examples/models}
    fi
    rf=("$bin" --model "$model" --bench "$steps" "$@")
    tf=(python3 scripts/tf_models.py --model "$model" --bench "$steps")
    eval_re='eval 1000: median ([0-9.]+) ms'
    eval_unit=ms
fi
step_re='train step: median ([0-9.]+) ms'
rss_re='peak RSS ([0-9]+) MB'
declare -A vals
grab() { # side, output
    local side=$1 out=$2
    [[ $out =~ $step_re ]] && vals[$side.step]+="${BASH_REMATCH[1]} "
    [[ $out =~ $eval_re ]] && vals[$side.eval]+="${BASH_REMATCH[1]} "
    [[ $out =~ $rss_re ]] && vals[$side.rss]+="${BASH_REMATCH[1]} "
    true
}
for r in $(seq "$rounds"); do
    out=$("${rf[@]}" 2>&1) || { echo "$out"; exit 1; }
    grab rf "$out"
    out=$("${tf[@]}" 2>&1) || { echo "$out"; exit 1; }
    grab tf "$out"
    echo "round $r: rustflow step ${vals[rf.step]} | TensorFlow step ${vals[tf.step]}" >&2
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
max() { tr ' ' '\n' | grep . | sort -g | tail -1; }
for what in step eval; do
    r=$(echo "${vals[rf.$what]}" | median)
    t=$(echo "${vals[tf.$what]}" | median)
    unit=ms
    [ $what = eval ] && unit=$eval_unit
    awk -v w="$what" -v r="$r" -v t="$t" -v u="$unit" 'BEGIN {
        printf "%-5s rustflow %8.2f %s   TensorFlow %8.2f %s   ratio %.2f\n", w, r, u, t, u, r / t }'
done
echo "peak RSS rustflow $(echo "${vals[rf.rss]}" | max) MB   TensorFlow $(echo "${vals[tf.rss]}" | max) MB"
echo "($model, $rounds interleaved rounds of $steps steps; medians of the per-run medians)"
