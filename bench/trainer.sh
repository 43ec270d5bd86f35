#!/usr/bin/env bash
# What a trainer of your own costs (issue #23): the same N AnyNetX_A jobs,
# sampled once, trained three ways by `sweep run` with the same workers and
# threads: on the built-in engine; by the torchvision-RegNet jsonl trainer
# of the tests (crates/regnet-cli/tests/trainers/torchvision_trainer.py: the
# same networks, plain SGD, no augmentation or precise BN); and by a null
# trainer that reports every epoch at once (the floor: a Python start-up,
# the config files and the relay of each epoch to the store). Prints
# models/hour for each and the ratios to the built-in engine.
#
#   bench/trainer.sh [N=8] [EPOCHS=3] [DATA=fashion-mnist,train=2048,test=512] [WORKERS=2]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/env.sh
source scripts/env.sh
cargo build --release -q --locked -p regnet-cli
R=$root/target/release/regnet
N=${1:-8}
EPOCHS=${2:-3}
DATA=${3:-fashion-mnist,train=2048,test=512}
WORKERS=${4:-2}
py="$REGNET_VENV/bin/python"
trainers="$root/crates/regnet-cli/tests/trainers"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/null_trainer.py" <<'PY'
import json, os
for e in range(1, int(os.environ["REGNET_EPOCHS"]) + 1):
    print(json.dumps({"epoch": e, "test_top1_err": 50.0}), flush=True)
PY
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); commit $(git rev-parse --short HEAD)"
echo "jobs: $N AnyNetX_A at 32x32, 2-6 MF, $EPOCHS epochs on $DATA, batch 64; $WORKERS workers x 1 thread"
base="NAME: trainer-bench
SPACE: anynetx-a
NUM_CONFIGS: $N
SEED: 7
FLOPS: 2M:6M
IM_SIZE: 32
DATA: $DATA
OPTIM: {MAX_EPOCH: $EPOCHS, BASE_LR: 0.02}
TRAIN: {BATCH_SIZE: 64}"
run() { # NAME TRAINER-YAML
  printf '%s\n%s\n' "$base" "$2" > "$work/$1.yaml"
  "$R" sweep init "$work/$1.yaml" --dir "$work/$1" 2>/dev/null
  local start end
  start=$(date +%s.%N)
  "$R" sweep run "$work/$1" --workers "$WORKERS" --threads 1 --device cpu --quiet 2>/dev/null
  end=$(date +%s.%N)
  "$R" sweep export "$work/$1" --format csv -o "$work/$1.csv"
  python3 - "$1" "$work/$1.csv" "$start" "$end" "$work/rates" <<'PY'
import csv, sys
name, path, start, end, rates = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
rows = list(csv.DictReader(open(path)))
done = [r for r in rows if r["state"] == "done"]
assert len(done) == len(rows), f"{name}: {len(rows) - len(done)} jobs not done"
wall = end - start
rate = len(done) / wall * 3600
with open(rates, "a") as f:
    f.write(f"{name} {rate}\n")
err = sum(float(r["top1_err"]) for r in done) / len(done)
print(f"{name:12s} {len(done)} models in {wall:6.1f} s = {rate:6.0f} models/hour  (mean top-1 error {err:.1f}%)")
PY
}
run built-in ""
run torchvision "TRAINER: {COMMAND: [$py, $trainers/torchvision_trainer.py, '{config}', '{out_dir}'], FORMAT: jsonl}"
run null "TRAINER: {COMMAND: [$py, $work/null_trainer.py], FORMAT: jsonl}"
python3 - "$work/rates" <<'PY'
import sys
r = dict((l.split()[0], float(l.split()[1])) for l in open(sys.argv[1]))
b = r["built-in"]
print(f"torchvision trainer / built-in engine: {r['torchvision'] / b:.2f}x models/hour")
print(f"null trainer / built-in engine: {r['null'] / b:.2f}x models/hour (the relay's floor)")
PY
