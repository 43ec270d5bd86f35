#!/usr/bin/env bash
# The sequential comparison's operating characteristics on the study's own
# populations (docs/study/*.sweep.json): A/A pairs (each space against
# itself: every "better"/"worse" is false) and the study's large differences,
# under a Pocock and an O'Brien-Fleming plan of 6 looks of 8 models against
# the study's fixed n = 48. Prints a Markdown table (bench/RESULTS.md).
# Usage: bench/sequential.sh [COMPARISONS]   # default 20000 per row
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cargo run --release --quiet -p regnet-stats --example sequential_sim -- "${1:-20000}"
