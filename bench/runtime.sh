#!/usr/bin/env bash
# What predicts a network's run time on this machine (issue #26 part 2):
# `regnet time-model fit` times the zoo's RegNetX/Y up to 1.6GF, EN-B0-B3,
# ResNet-50 and ResNeXt-50 and N models sampled from RegNetX, RegNetY and
# AnyNetX_E across 50MF-1.6GF at 224x224 (inference for every model, a
# training step for every 4th), fits time against flops, params,
# activations and flops + activations on three quarters of them and
# measures each fit's error on the other quarter. Writes the time model,
# every measurement and the charts to bench/runtime/ (a rerun reuses the
# measurements it finds there).
#   bench/runtime.sh [cpu|cuda] [N=200] [THREADS=2] [BATCH=8]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/env.sh
source scripts/env.sh
cargo build --release -q --locked -p regnet-cli
device=${1:-cpu} n=${2:-200} threads=${3:-2} batch=${4:-8}
export OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); commit $(git rev-parse --short HEAD)"
out=bench/runtime/time_model_$device.json
time ./target/release/regnet time-model fit -o "$out" -n "$n" --device "$device" \
    --threads "$threads" --batch "$batch" --charts "bench/runtime/$device"
