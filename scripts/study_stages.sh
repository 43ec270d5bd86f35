#!/usr/bin/env bash
# The study's second follow-up (docs/study.md, "Why AnyNetX_E trails"): 12
# models each of AnyNetX_A and AnyNetX_E with three stride-2 stages instead of
# four (configs/sweeps/study3_*.yaml: the last stage at 4x4 pixels instead of
# 2x2), same band, recipe, data and seed as the study. If E's deficit comes
# from deep stacks of blocks on a 2x2 map, it shrinks here.
#
#   scripts/study_stages.sh [WORKERS]     # default 2
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
workers=${1:-2}
for s in anynetx_a anynetx_e; do
    dir="sweeps/study3/$s"
    [ -f "$dir/sweep.db" ] || ./regnet sweep init "configs/sweeps/study3_$s.yaml" --dir "$dir"
    ./regnet sweep run "$dir" --workers "$workers" --threads 1 --quiet
    ./regnet sweep export "$dir" --format pycls-json -o "docs/study/stages3_$s.sweep.json"
done
./regnet compare sweeps/study3/anynetx_a sweeps/study3/anynetx_e --names AnyNetX_A-3,AnyNetX_E-3 \
    -o docs/study/stages3_report.html --json docs/study/stages3_analysis.json
