#!/usr/bin/env bash
# The regime pilot's table (docs/refine.md, "Choosing the regime"): for each
# regime whose two populations are exported under docs/refine/pilot/, the
# spread of each space, its untrained tail (models above 60% error), the
# training cost per model, the A - E difference with its 95% interval, and
# what a fixed-n comparison resolving 5 points (80% power) would cost: the
# regime with the fewest CPU-hours for it is the most decisive per hour.
#   scripts/refine_pilot_table.sh          # REGNET=path/to/regnet to pick a binary
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
regnet=${REGNET:-./regnet}
dir=docs/refine/pilot
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "| regime | mean A / E | SD A / E | above 60% A / E | s per model | E − A [95%] | models per space for 5 points | CPU-hours |"
echo "|---|---|---|---|---|---|---|---|"
# The pilot's regimes, then the three-stage study's two regimes (48 models
# per space) for reference.
pairs=()
for a in "$dir"/*.anynetx-a.sweep.json; do
    regime=$(basename "$a" .anynetx-a.sweep.json)
    pairs+=("$regime $a $dir/$regime.anynetx-e.sweep.json")
done
pairs+=("study:s3-5k-e5 docs/study/stages3_anynetx_a.sweep.json docs/study/stages3_anynetx_e.sweep.json")
pairs+=("study:s3-5k-e15 docs/study/stages3x15_anynetx_a.sweep.json docs/study/stages3x15_anynetx_e.sweep.json")
for p in "${pairs[@]}"; do
    read -r regime a e <<<"$p"
    [ -f "$e" ] || continue
    "$regnet" compare "$a" "$e" --names A,E --plan 5 --bootstrap 500 -o "$tmp/r.html" --json "$tmp/r.json" 2>/dev/null
    jq -r --arg r "$regime" '
      def tail60(p): [p.models[] | select(.error > 60)] | length;
      def sd(p): (p.models | map(.error)) as $e | ($e | add / length) as $m
                 | (($e | map((. - $m) * (. - $m)) | add) / (($e | length) - 1)) | sqrt;
      .populations as [$pa, $pe]
      | "| \($r) | \($pa.summary.mean * 10 | round / 10) / \($pe.summary.mean * 10 | round / 10)"
      + " | \(sd($pa) * 10 | round / 10) / \(sd($pe) * 10 | round / 10)"
      + " | \(tail60($pa)) of \($pa.summary.n) / \(tail60($pe)) of \($pe.summary.n)"
      + " | \(.plan.seconds_per_model | round)"
      + " | \(-.comparisons[0].mean_diff.estimate * 10 | round / 10) [\(-.comparisons[0].mean_diff.hi * 10 | round / 10), \(-.comparisons[0].mean_diff.lo * 10 | round / 10)]"
      + " | \(.plan.models_per_space) | \(.plan.hours * 10 | round / 10) |"' "$tmp/r.json"
done
