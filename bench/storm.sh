#!/usr/bin/env bash
# The claim storm at full size (issue #25): 256 workers with their own
# PostgreSQL connections on loopback claim, renew, record 3 epochs and finish
# 2,000 fake jobs while 3% of claims end with the worker dying holding its
# lease and a chaos loop drops 3 random connections (pg_terminate_backend)
# every 30-70 ms; then 16 workers on one SQLite file. Checks every job done
# once with its epochs and no job held by two live leases (from the log of
# grants), and prints claims/s and the claim latency's p50/p99.
# Usage: bench/storm.sh [WORKERS] [JOBS] [SQLITE_WORKERS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/env.sh
source "$root/scripts/env.sh"
cd "$root"
export REGNET_STORM_WORKERS="${1:-256}" REGNET_STORM_JOBS="${2:-2000}"
export REGNET_STORM_SQLITE_WORKERS="${3:-16}"
cargo test --release --locked -p regnet-store --test storm -- --nocapture --test-threads 1 2>&1 |
    grep -E '^storm:|^test |panicked|test result'
