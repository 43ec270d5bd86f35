#!/usr/bin/env bash
# Population throughput: models/hour of `regnet sweep run` against a plain
# PyTorch runner (bench/population_runner.py: one Python process per job as
# pycls runs a sweep, torchvision's RegNet class for the same networks) on the
# same jobs, epochs, data sizes, workers and threads, side by side.
#
#   bench/population_throughput.sh [N_JOBS] [WORKERS] [THREADS]
#
# The jobs: N_JOBS/2 from each demo space (configs/sweeps/demo_anynetx_a.yaml,
# demo_regnetx.yaml: 10-11 MF at 32x32, 4 epochs on 2,000 Fashion-MNIST
# training images, 1,000 test images evaluated after every epoch).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
N=${1:-12}
WORKERS=${2:-2}
THREADS=${3:-1}
cargo build --release --quiet -p regnet-cli
R=target/release/regnet
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for s in anynetx_a regnetx; do
    $R sweep init "configs/sweeps/demo_$s.yaml" --dir "$dir/$s" -n $((N / 2)) 2>/dev/null
done
echo "jobs: $N (demo spaces), $WORKERS workers x $THREADS threads, $(nproc) CPUs"

start=$(date +%s.%N)
for s in anynetx_a regnetx; do
    $R sweep run "$dir/$s" --workers "$WORKERS" --threads "$THREADS" --quiet 2>/dev/null
done
ours=$(echo "$(date +%s.%N) - $start" | bc)

for s in anynetx_a regnetx; do
    $R sweep export "$dir/$s" --format pycls-json -o "$dir/$s.json"
done
python - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
jobs = json.load(open(f"{d}/anynetx_a.json")) + json.load(open(f"{d}/regnetx.json"))
json.dump(jobs, open(f"{d}/jobs.json", "w"))
errs = [r["test_epoch"]["top1_err"][-1] for r in jobs]
print(f"regnet: mean final test error {sum(errs) / len(errs):.2f}%")
PY
start=$(date +%s.%N)
python bench/population_runner.py "$dir/jobs.json" --train 2000 --test 1000 \
    --workers "$WORKERS" --threads "$THREADS" --regnet "$R" > "$dir/pytorch.log"
theirs=$(echo "$(date +%s.%N) - $start" | bc)
python - "$dir/pytorch.log" <<'PY'
import json, sys
errs = [json.loads(l.split(": ", 1)[1].rsplit(" (", 1)[0])["top1_err"]
        for l in open(sys.argv[1]) if l.startswith("job-")]
print(f"pytorch: mean final test error {sum(errs) / len(errs):.2f}%")
PY

python - "$N" "$ours" "$theirs" <<'PY'
import sys
n, ours, theirs = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
print(f"regnet sweep run : {ours:7.1f} s  {3600 * n / ours:6.1f} models/hour")
print(f"pytorch runner   : {theirs:7.1f} s  {3600 * n / theirs:6.1f} models/hour")
print(f"ratio (regnet / pytorch models per hour): {theirs / ours:.2f}x")
PY
