#!/usr/bin/env bash
# Inference time of every zoo RegNet and EfficientNet at 224x224 (eval mode,
# no grad, channels-last, BN folded), to compare RegNets and EfficientNets at
# equal flops (the paper measures on GPUs: RegNets up to 5x faster).
# Usage: bench/zoo_timing.sh [cpu|cuda] [BATCH] [STEPS] [THREADS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/env.sh
source "$root/scripts/env.sh"
cd "$root"
device="${1:-cpu}" batch="${2:-8}" steps="${3:-2}" threads="${4:-2}"
export OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads"
cargo build --release --quiet -p regnet-engine --example bench_speed
cargo build --release --quiet -p regnet-cli
echo "device $device, batch $batch, $threads threads, $steps timed steps"
printf "%-16s %10s %12s %12s\n" model "GFLOPs@224" "ms / batch" "ms / image"
./target/release/regnet zoo --json | python -c '
import json, sys
for m in json.load(sys.stdin):
    n = m["name"]
    if (n.startswith("Reg") or n.startswith("EN-")) and "_" not in n:
        print(n)
' | while read -r name; do
    flops=$(./target/release/regnet describe "$name" --im-size 224 --json | python -c "import json, sys; print(json.load(sys.stdin)[\"flops\"])")
    ips=$(./target/release/examples/bench_speed "$name" infer "$batch" 224 "$steps" cl+fold "$device")
    python -c "
ips = float('$ips')
print(f'{\"$name\":16s} {$flops / 1e9:10.2f} {1000 * $batch / ips:12.1f} {1000 / ips:12.2f}')"
done
