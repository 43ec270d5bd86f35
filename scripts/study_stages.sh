#!/usr/bin/env bash
# The study's three-stage follow-ups (docs/study.md, "Why AnyNetX_E trails"):
# 12 models each of AnyNetX_A and AnyNetX_E with three stride-2 stages instead
# of four (the last stage at 4x4 pixels instead of 2x2), same band, data and
# seed as the study, then their comparison.
#   study3     follow-up 2: the study's recipe (5 epochs); configs/sweeps/study3_*.yaml
#   study3x15  follow-up 3: the same models for 15 epochs; configs/sweeps/study3x15_*.yaml
#
#   scripts/study_stages.sh [WORKERS] [study3|study3x15]     # default 2 study3
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
workers=${1:-2}
set_name=${2:-study3}
case "$set_name" in
    study3) out=stages3 ;;
    study3x15) out=stages3x15 ;;
    *) echo "error: unknown follow-up '$set_name' (allowed: study3, study3x15)" >&2; exit 2 ;;
esac
for s in anynetx_a anynetx_e; do
    dir="sweeps/$set_name/$s"
    [ -f "$dir/sweep.db" ] || ./regnet sweep init "configs/sweeps/${set_name}_$s.yaml" --dir "$dir"
    ./regnet sweep run "$dir" --workers "$workers" --threads 1 --quiet
    ./regnet sweep export "$dir" --format pycls-json -o "docs/study/${out}_$s.sweep.json"
done
suffix=${set_name#study}
./regnet compare "sweeps/$set_name/anynetx_a" "sweeps/$set_name/anynetx_e" \
    --names "AnyNetX_A-$suffix,AnyNetX_E-$suffix" \
    -o "docs/study/${out}_report.html" --json "docs/study/${out}_analysis.json"
