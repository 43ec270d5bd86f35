#!/usr/bin/env bash
# The engine issue's speed comparison: our engine against PyTorch eager on the
# same architecture, batch, input size, thread count and libtorch, in both
# memory layouts, one after the other in one script. Prints images/s and the
# ratio ours / (the faster PyTorch layout); above 1 means we are faster.
#   train: RegNetX-200MF widths with the CIFAR stem at 32x32, batch 128
#          (forward, backward, SGD step)
#   infer: RegNetY-400MF at 224x224, batch 32 (eval-mode forward, no grad);
#          ours also with every BN folded into its conv (cl+fold), a win
#          PyTorch eager leaves on the table
# Usage: bench/speed.sh [cpu|cuda] [THREADS] [STEPS] [ROUNDS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/env.sh
source "$root/scripts/env.sh"
cd "$root"
device="${1:-cpu}" threads="${2:-2}" steps="${3:-10}" rounds="${4:-2}"
export OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads"
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p regnet-engine --example bench_speed
ours="$root/target/release/examples/bench_speed"
echo "device $device, $threads threads, $steps steps, best of $rounds rounds"
printf "%-6s %-7s %12s %12s\n" case layout "ours img/s" "torch img/s"
for case in "train bench/regnetx200_cifar.yaml regnetx200_cifar 128 32" "infer RegNetY-400MF regnet_y_400mf 32 224"; do
    read -r mode ours_model torch_model batch im <<<"$case"
    declare -A best=()
    for round in $(seq "$rounds"); do
        for layout in nchw cl; do
            a=$("$ours" "$ours_model" "$mode" "$batch" "$im" "$steps" "$layout" "$device")
            b=$(python bench/speed.py "$torch_model" "$mode" "$batch" "$im" "$steps" "$layout" "$device")
            best[ours_$layout]=$(python -c "print(max(float('$a'), float('${best[ours_$layout]:-0}')))")
            best[torch_$layout]=$(python -c "print(max(float('$b'), float('${best[torch_$layout]:-0}')))")
        done
    done
    fold=0
    if [ "$mode" = infer ]; then
        for round in $(seq "$rounds"); do
            a=$("$ours" "$ours_model" "$mode" "$batch" "$im" "$steps" cl+fold "$device")
            fold=$(python -c "print(max(float('$a'), float('$fold')))")
        done
    fi
    python - "$mode" "${best[ours_nchw]}" "${best[ours_cl]}" "${best[torch_nchw]}" "${best[torch_cl]}" "$fold" <<'PY'
import sys
mode, on, oc, tn, tc, fold = sys.argv[1], *map(float, sys.argv[2:])
fast = max(tn, tc)
print(f"{mode:6s} nchw    {on:12.1f} {tn:12.1f}")
print(f"{mode:6s} cl      {oc:12.1f} {tc:12.1f}")
if fold:
    print(f"{mode:6s} cl+fold {fold:12.1f}")
ours = max(on, oc, fold)
print(f"{mode:6s} best: ours {ours:.1f} vs PyTorch {fast:.1f} img/s, ratio {ours / fast:.3f}")
PY
    unset best
    # Mixed precision (float16 autocast + loss scaling) is a CUDA feature.
    if [ "$mode" = train ] && [ "$device" = cuda ]; then
        for layout in nchw+amp cl+amp; do
            a=$("$ours" "$ours_model" "$mode" "$batch" "$im" "$steps" "$layout" "$device")
            b=$(python bench/speed.py "$torch_model" "$mode" "$batch" "$im" "$steps" "$layout" "$device")
            awk -v l="$layout" -v a="$a" -v b="$b" 'BEGIN { printf "train  %-7s %12.1f %12.1f  ratio %.3f\n", l, a, b, a / b }'
        done
    fi
done
