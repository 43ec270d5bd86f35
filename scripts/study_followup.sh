#!/usr/bin/env bash
# The study's follow-up experiment (docs/study.md, "Why AnyNetX_E trails"):
# the first N models of the AnyNetX_A and AnyNetX_E study sweeps (the same
# models: sampling is seeded and sequential), trained again for EPOCHS epochs
# instead of 5, everything else unchanged. If E's deficit comes from the short
# regime (deep last stages that 195 SGD steps cannot train), the paired
# errors of E's models fall much more than A's with longer training.
#
#   scripts/study_followup.sh [N] [EPOCHS] [WORKERS]     # default 6 15 2
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
n=${1:-6}
epochs=${2:-15}
workers=${3:-2}
for s in anynetx_a anynetx_e; do
    dir="sweeps/followup/${s}_${epochs}ep"
    [ -f "$dir/sweep.db" ] || ./regnet sweep init "configs/sweeps/study_$s.yaml" --dir "$dir" \
        -n "$n" --epochs "$epochs"
    ./regnet sweep run "$dir" --workers "$workers" --threads 1 --quiet
    ./regnet sweep export "$dir" --format pycls-json -o "docs/study/followup_${s}_${epochs}ep.sweep.json"
done
# Paired: each model's final error after 5 epochs (the study) and after EPOCHS.
python3 - "$n" "$epochs" <<'PY'
import json, sys
n, epochs = int(sys.argv[1]), sys.argv[2]
for s in ["anynetx_a", "anynetx_e"]:
    short = json.load(open(f"docs/study/{s}.sweep.json"))[:n]
    long = json.load(open(f"docs/study/followup_{s}_{epochs}ep.sweep.json"))
    print(s)
    for a, b in zip(short, long):
        depths = a["cfg"]["ANYNET"]["DEPTHS"]
        assert depths == b["cfg"]["ANYNET"]["DEPTHS"], "not the same model"
        print(f"  depths {depths}: 5 epochs {a['test_epoch']['top1_err'][-1]:6.2f}  "
              f"{epochs} epochs {b['test_epoch']['top1_err'][-1]:6.2f}")
PY
