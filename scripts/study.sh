#!/usr/bin/env bash
# The Fashion-MNIST design-space study (docs/study.md), end to end: samples
# and trains the four spaces' sweeps (configs/sweeps/study_*.yaml; stop it at
# any time and run it again to continue), then writes the report, the pycls
# sweep.json exports and every pairwise comparison under docs/study/.
#
#   scripts/study.sh [WORKERS]      # default 2 (one per core of a 2-core machine)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
workers=${1:-2}
spaces=(anynetx_a anynetx_c anynetx_e regnetx)
names=(AnyNetX_A AnyNetX_C AnyNetX_E RegNetX)
for s in "${spaces[@]}"; do
    [ -f "sweeps/study/$s/sweep.db" ] || ./regnet sweep init "configs/sweeps/study_$s.yaml"
    ./regnet sweep run "sweeps/study/$s" --workers "$workers" --threads 1 --quiet
done
out=docs/study
mkdir -p "$out"
dirs=("${spaces[@]/#/sweeps/study/}")
./regnet compare "${dirs[@]}" --names "$(IFS=,; echo "${names[*]}")" \
    -o "$out/report.html" --json "$out/analysis.json"
for s in "${spaces[@]}"; do
    ./regnet sweep export "sweeps/study/$s" --format pycls-json -o "$out/$s.sweep.json"
done
# Every pair (the report compares the first space with each other one).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for i in 0 1 2 3; do
    for j in $(seq $((i + 1)) 3); do
        ./regnet compare "${dirs[$i]}" "${dirs[$j]}" --names "${names[$i]},${names[$j]}" \
            -o "$tmp/pair.html" --json "$tmp/pair-$i-$j.json" 2>/dev/null
    done
done
python3 - "$tmp" "$out/comparisons.json" <<'PY'
import glob, json, sys
pairs = [json.load(open(f))["comparisons"][0] for f in sorted(glob.glob(f"{sys.argv[1]}/pair-*.json"))]
json.dump(pairs, open(sys.argv[2], "w"), indent=1)
for c in pairs:
    m, n = c["mean_diff"], c["min_diff"]
    print(f'{c["a"]} vs {c["b"]}: KS D {c["ks"]["d"]:.3f} p {c["ks"]["p_value"]:.3f}; '
          f'mean diff {m["estimate"]:.2f} [{m["lo"]:.2f}, {m["hi"]:.2f}]; '
          f'min diff {n["estimate"]:.2f} [{n["lo"]:.2f}, {n["hi"]:.2f}]')
PY
