#!/usr/bin/env bash
# Carries an unfinished design-loop run (scripts/refine.sh) between sittings
# on machines whose work tree does not survive: `save` copies what the loop
# needs to resume — refine.yaml, the derived spaces and every population's
# store (an online SQLite backup, safe while the run trains) — into
# docs/refine/state/ to be committed; `restore` puts them back. Job
# directories (checkpoints, weights) are not carried: a job that was
# training when saved starts that model again from epoch 0, and the store
# drops the epochs it had recorded, so nothing is counted twice.
#   scripts/refine_state.sh save|restore [DIR]   # DIR: runs/refine-fmnist
# The derived spaces name DIR by its absolute path, so restore into the
# same checkout path the run was started in.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/env.sh
source scripts/env.sh
mode=${1:?usage: scripts/refine_state.sh save|restore [DIR]}
dir=${2:-runs/refine-fmnist}
state=docs/refine/state
backup() {
    python3 -c 'import sqlite3, sys
src = sqlite3.connect(sys.argv[1]); dst = sqlite3.connect(sys.argv[2])
src.backup(dst); dst.close(); src.close()' "$1" "$2"
}
case "$mode" in
save)
    rm -rf "$state" && mkdir -p "$state"
    cp "$dir/refine.yaml" "$state/"
    cp -r "$dir/spaces" "$state/" 2>/dev/null || true
    for db in "$dir"/[0-9][0-9]-*/sweep.db; do
        pop=$(dirname "$db")
        mkdir -p "$state/$(basename "$pop")"
        cp "$pop/sweep.yaml" "$state/$(basename "$pop")/"
        backup "$db" "$state/$(basename "$pop")/sweep.db"
    done
    echo "saved $(ls -d "$state"/*/sweep.db | wc -l) populations of $dir into $state"
    ;;
restore)
    [ -e "$dir/refine.yaml" ] && { echo "error: $dir holds a run already; restore only into a new directory" >&2; exit 1; }
    mkdir -p "$dir"
    cp "$state/refine.yaml" "$dir/"
    cp -r "$state/spaces" "$dir/" 2>/dev/null || true
    for pop in "$state"/[0-9][0-9]-*/; do
        cp -r "$pop" "$dir/"
    done
    echo "restored $(ls -d "$dir"/*/sweep.db | wc -l) populations into $dir"
    ;;
*)
    echo "error: unknown mode '$mode'; use save or restore" >&2
    exit 1
    ;;
esac
