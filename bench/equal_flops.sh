#!/usr/bin/env bash
# Training and inference speed at equal flops (issue #26 part 1): the zoo's
# RegNetX/Y 400MF-1.6GF, EN-B0-B3, ResNet-50 and ResNeXt-50 at 224x224, our
# engine beside PyTorch eager and torch.compile on the same architectures
# (torchvision's classes), batch, threads and libtorch, one after the other.
# Training is forward, backward and an SGD step; inference an eval-mode
# forward without gradients. On CPU everything runs channels-last (faster
# here, bench/RESULTS.md) and our inference also folds BN; on CUDA NCHW, and
# training also in mixed precision (+amp). Prints images/s per model and the
# RegNetY / EfficientNet ratios at each flops level (400MF/B0, 600MF/B1,
# 800MF/B2, 1.6GF/B3).
#   bench/equal_flops.sh [cpu|cuda] [BATCH=8] [STEPS=3] [THREADS=2] [COMPILE=1]
# MODELS="RegNetY-400MF:regnet_y_400mf EN-B0:efficientnet_b0" times a subset.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/env.sh
source scripts/env.sh
device=${1:-cpu} batch=${2:-8} steps=${3:-3} threads=${4:-2} compile=${5:-1}
export OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads"
cargo build --release -q --locked -p regnet-engine --example bench_speed
ours=target/release/examples/bench_speed
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); commit $(git rev-parse --short HEAD)"
echo "device $device, batch $batch at 224x224, $threads threads, $steps timed steps after 3 warm-up"
if [ "$device" = cpu ]; then train_l=cl infer_l=cl infer_ours=cl+fold; else train_l=nchw infer_l=nchw infer_ours=nchw+fold; fi
models=${MODELS:-"RegNetX-400MF:regnet_x_400mf RegNetX-800MF:regnet_x_800mf RegNetX-1.6GF:regnet_x_1_6gf
RegNetY-400MF:regnet_y_400mf RegNetY-800MF:regnet_y_800mf RegNetY-1.6GF:regnet_y_1_6gf
EN-B0:efficientnet_b0 EN-B1:efficientnet_b1 EN-B2:efficientnet_b2 EN-B3:efficientnet_b3
ResNet-50:resnet50 ResNeXt-50:resnext50_32x4d"}
table=$(mktemp)
header="model ours_train torch_train"
[ "$compile" = 1 ] && header="$header compile_train"
header="$header ours_infer torch_infer"
[ "$compile" = 1 ] && header="$header compile_infer"
[ "$device" = cuda ] && header="$header ours_train_amp torch_train_amp"
echo "$header (images/s)" | tee "$table"
for pair in $models; do
    name=${pair%%:*} tv=${pair#*:}
    row="$name $("$ours" "$name" train "$batch" 224 "$steps" "$train_l" "$device")"
    row="$row $(python bench/speed.py "$tv" train "$batch" 224 "$steps" "$train_l" "$device")"
    [ "$compile" = 1 ] && row="$row $(python bench/speed.py "$tv" train "$batch" 224 "$steps" "$train_l+compile" "$device" 2>/dev/null || echo nan)"
    row="$row $("$ours" "$name" infer "$batch" 224 "$steps" "$infer_ours" "$device")"
    row="$row $(python bench/speed.py "$tv" infer "$batch" 224 "$steps" "$infer_l" "$device")"
    [ "$compile" = 1 ] && row="$row $(python bench/speed.py "$tv" infer "$batch" 224 "$steps" "$infer_l+compile" "$device" 2>/dev/null || echo nan)"
    if [ "$device" = cuda ]; then
        row="$row $("$ours" "$name" train "$batch" 224 "$steps" nchw+amp "$device")"
        row="$row $(python bench/speed.py "$tv" train "$batch" 224 "$steps" nchw+amp "$device")"
    fi
    echo "$row" | tee -a "$table"
done
python3 - "$table" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
head, rows = rows[0][1:-1], {r[0]: [float(x) for x in r[1:]] for r in rows[1:]}
print("\nRegNetY / EfficientNet at equal flops (images/s ratio; above 1: RegNetY faster)")
print("pair", *head)
for r, e in [("RegNetY-400MF", "EN-B0"), ("RegNetY-800MF", "EN-B1"), ("RegNetY-800MF", "EN-B2"), ("RegNetY-1.6GF", "EN-B3")]:
    if r in rows and e in rows:
        print(f"{r}/{e}", *(f"{a / b:.2f}" for a, b in zip(rows[r], rows[e])))
print("\nours / PyTorch eager:", " ".join(f"{n} train {v[0] / v[1]:.2f} infer {v[head.index('ours_infer')] / v[head.index('torch_infer')]:.2f}" for n, v in rows.items()))
PY
