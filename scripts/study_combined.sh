#!/usr/bin/env bash
# The study's combined follow-up (docs/study.md, "Why AnyNetX_E trails"): the
# 12 + 12 three-stage models of follow-up 2 (the same samples) trained for 15
# epochs, the length of follow-up 1, so that both set-up effects are removed
# at once (configs/sweeps/study3x15_*.yaml).
#
#   scripts/study_combined.sh [WORKERS]     # default 2
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
workers=${1:-2}
for s in anynetx_a anynetx_e; do
    dir="sweeps/study3x15/$s"
    [ -f "$dir/sweep.db" ] || ./regnet sweep init "configs/sweeps/study3x15_$s.yaml" --dir "$dir"
    ./regnet sweep run "$dir" --workers "$workers" --threads 1 --quiet
    ./regnet sweep export "$dir" --format pycls-json -o "docs/study/stages3x15_$s.sweep.json"
done
./regnet compare sweeps/study3x15/anynetx_a sweeps/study3x15/anynetx_e --names AnyNetX_A-3x15,AnyNetX_E-3x15 \
    -o docs/study/stages3x15_report.html --json docs/study/stages3x15_analysis.json
