#!/usr/bin/env bash
# Image-folder pipeline throughput, ours against torchvision's ImageFolder +
# DataLoader with the same transforms, side by side on the same folder:
# training view (decode, random-resized crop to 224, flip, normalization, PCA
# lighting) and test view (resize 256, centre crop 224, normalization), batch
# tensors of 64 ready for the model, at 1 and 2 threads / workers, each side
# pinned to that many cores (taskset), so the ratio is per core. Then
# `regnet train` for one epoch on the folder with a tiny model, whose rate
# is bounded by the loader.
#
#   bench/data_speed.sh [TRAIN_PER_CLASS] [REPEATS]
#
# The folder (10 classes, TRAIN_PER_CLASS training and 50 validation JPEGs
# per class, ~500x375 at quality 90) is generated once under
# target/bench-data/ by bench/make_jpeg_folder.py.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
PER_CLASS=${1:-300}
REPEATS=${2:-3}
D=target/bench-data/jpeg-$PER_CLASS
if [ ! -d "$D/val" ]; then
    echo "generating $D" >&2
    python bench/make_jpeg_folder.py "$D.partial" "$PER_CLASS" 50 && mv "$D.partial" "$D"
fi
cargo build --release --quiet -p regnet-engine --example data_speed
cargo build --release --quiet -p regnet-cli
best() { sort -g | tail -1; }
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; $(find "$D/train" -name '*.JPEG' | wc -l) training images"
echo "| view | cores | ours (images/s) | torchvision (images/s) | ours / torchvision |"
echo "| --- | --- | --- | --- | --- |"
for view in train test; do
    for cores in 1 2; do
        cpus=$(seq -s, 0 $((cores - 1)))
        ours=$(for _ in $(seq "$REPEATS"); do
            taskset -c "$cpus" env RAYON_NUM_THREADS="$cores" target/release/examples/data_speed "$D" "$view" 64
        done | best)
        tv=$(for _ in $(seq "$REPEATS"); do
            taskset -c "$cpus" python bench/data_speed.py "$D" "$view" "$cores" 64
        done | best)
        echo "| $view | $cores | $ours | $tv | $(echo "scale=2; $ours / $tv" | bc) |"
    done
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
start=$(date +%s.%N)
target/release/regnet train bench/tiny_imagenet.yaml --data "imagefolder:$D" --out "$out/run" \
    --device cpu >/dev/null 2>&1
secs=$(echo "$(date +%s.%N) - $start" | bc)
images=$(( $(find "$D/train" -name '*.JPEG' | wc -l) / 64 * 64 + $(find "$D/val" -name '*.JPEG' | wc -l) ))
echo "regnet train, tiny model, 1 epoch (train + test views), all cores: $(echo "scale=1; $images / $secs" | bc) images/s ($images images in ${secs%.*} s)"
