#!/usr/bin/env bash
# The regime pilot for `regnet refine` (docs/refine.md, "Choosing the regime"):
# the same handful of sampled models (8 from AnyNetX_A, 8 from AnyNetX_E, seed 1,
# CIFAR stem) trained under several regimes on Fashion-MNIST, so the regime with
# the most decisive comparisons per CPU-hour can be picked by measurement.
# Each regime is a pair of sweeps (resumable: stop it and run it again).
#
#   scripts/refine_pilot.sh [WORKERS] [DIR]    # default 1 worker, sweeps/pilot
#   REGNET=path/to/regnet scripts/refine_pilot.sh   # a fixed binary (default ./regnet)
#
# Columns of the regime table: name, stride-2 stages, flops band, training
# images, epochs. The test split is a balanced 2,000 images for every regime.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
workers=${1:-1}
root=${2:-sweeps/pilot}
out=docs/refine/pilot
regnet=${REGNET:-./regnet}
regimes=(
    "s3-5k-e5    3 10M:11M  5000 5"
    "s3-2.5k-e10 3 10M:11M  2500 10"
    "s3-5k-e5-5mf 3 5M:5.5M 5000 5"
    "s4-5k-e5    4 10M:11M  5000 5"
    "s3-10k-e5   3 10M:11M 10000 5"
    "s3-5k-e10   3 10M:11M  5000 10"
    "s3-20k-e3   3 10M:11M 20000 3"
)
mkdir -p "$root" "$out"
for r in "${regimes[@]}"; do
    read -r name stages flops train epochs <<<"$r"
    for space in anynetx-a anynetx-e; do
        dir="$root/$name/$space"
        if [ ! -f "$dir/sweep.db" ]; then
            mkdir -p "$dir"
            cfg="$root/$name/$space.yaml"
            cat >"$cfg" <<YAML
NAME: pilot/$name/$space
DESC: "regime pilot $name: $space, $stages stages, $flops, $train training images, $epochs epochs"
SPACE: $space
STEM_TYPE: res_stem_cifar
STEM_W: 16
NUM_STAGES: $stages
IM_SIZE: 32
NUM_CLASSES: 10
FLOPS: $flops
NUM_CONFIGS: 8
SEED: 1
DATA: fashion-mnist,train=$train,test=2000
OPTIM: {BASE_LR: 0.05, LR_POLICY: cos, MAX_EPOCH: $epochs, MOMENTUM: 0.9, NESTEROV: True, WEIGHT_DECAY: 5.0e-5, EMA_ALPHA: 0.0}
TRAIN: {BATCH_SIZE: 128}
TEST: {BATCH_SIZE: 200}
BN: {USE_PRECISE_STATS: False}
RNG_SEED: 1
YAML
            "$regnet" sweep init "$cfg" --dir "$dir" --force
        fi
        "$regnet" sweep run "$dir" --workers "$workers" --threads 1 --quiet
        "$regnet" sweep export "$dir" --format pycls-json -o "$out/$name.$space.sweep.json"
    done
done
