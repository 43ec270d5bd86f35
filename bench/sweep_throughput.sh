#!/usr/bin/env bash
# Sweep throughput on this machine: models finished per hour for several
# workers x threads combinations (the same N RegNetX jobs each time), and the
# per-job overhead outside training (process start-up, libtorch and data
# loading, model build, store writes, final save) = job wall time from claim
# to finish minus its epochs' training + evaluation time.
#
#   bench/sweep_throughput.sh [N=6] [EPOCHS=3] [DATA=synthetic:1500] [COMBOS="1x2 2x1"]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
cargo build --release -q -p regnet-cli
R=target/release/regnet
N=${1:-6}
EPOCHS=${2:-3}
DATA=${3:-synthetic:1500}
COMBOS=${4:-"1x2 2x1"}
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "jobs: $N RegNetX (configs/sweeps/demo_regnetx.yaml), $EPOCHS epochs on $DATA"
for combo in $COMBOS; do
  w=${combo%x*}
  t=${combo#*x}
  dir=$(mktemp -d)/s
  $R sweep init configs/sweeps/demo_regnetx.yaml --dir "$dir" -n "$N" --epochs "$EPOCHS" --data "$DATA" 2>/dev/null
  start=$(date +%s.%N)
  $R sweep run "$dir" --workers "$w" --threads "$t" --device cpu --quiet 2>/dev/null
  end=$(date +%s.%N)
  $R sweep export "$dir" --format csv -o "$dir/jobs.csv"
  python3 - "$dir/jobs.csv" "$start" "$end" "$w" "$t" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
start, end, w, t = float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
wall = end - start
done = [r for r in rows if r["state"] == "done"]
over = [float(r["wall_seconds"]) - float(r["train_seconds"]) for r in done]
job = [float(r["wall_seconds"]) for r in done]
mean_over = sum(over) / len(over)
print(f"workers {w} x threads {t}: {len(done)} models in {wall:.1f} s = {len(done) / wall * 3600:.0f} models/hour; "
      f"mean job {sum(job) / len(job):.1f} s, overhead {mean_over:.2f} s per job "
      f"({100 * mean_over / 60:.2f}% of a one-minute job)")
PY
  rm -rf "$(dirname "$dir")"
done
