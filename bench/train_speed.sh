#!/usr/bin/env bash
# Training throughput of our engine vs PyTorch on the same architecture, same
# libtorch, same process settings, run side by side. Prints images/s and the
# ratio (ours / PyTorch; above 1 means we are faster).
# Usage: bench/train_speed.sh [cpu|cuda] [BATCH] [IM_SIZE] [STEPS] [THREADS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/env.sh
source "$root/scripts/env.sh"
device="${1:-cpu}" batch="${2:-32}" im="${3:-64}" steps="${4:-10}" threads="${5:-2}"
export OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads"
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p regnet-engine --example bench_speed
printf "%-16s %12s %12s %8s\n" model "ours img/s" "torch img/s" ratio
for pair in regnet_x_400mf:regnet_x_400mf RegNetY-400MF:regnet_y_400mf R-50-1x64d:resnet50; do
    ours_name="${pair%%:*}" tv_name="${pair##*:}"
    ours=$("$root/target/release/examples/bench_speed" "$ours_name" train "$batch" "$im" "$steps" nchw "$device")
    torch=$(python "$root/bench/speed.py" "$tv_name" train "$batch" "$im" "$steps" nchw "$device")
    python - "$ours_name" "$ours" "$torch" <<'PY'
import sys
name, a, b = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
print(f"{name:16s} {a:12.1f} {b:12.1f} {a / b:8.3f}")
PY
done
