#!/usr/bin/env bash
# The design loop's real run (docs/refine.md, "The run on Fashion-MNIST"):
# from AnyNetX_A with three stride-2 stages and the CIFAR stem at 32x32, in a
# 10-11 MF band, on Fashion-MNIST with the built-in recipe
# (configs/refine/recipe.yaml), a budget of 80 models, two workers. It
# resumes: stop it at any time and run it again (in several sittings if
# needed; scripts/refine_state.sh carries it between machines whose work
# tree does not survive). When it ends it
# copies the record (chain.json, analysis.json, report.html) and every
# population's pycls sweep.json into docs/refine/run/.
#   scripts/refine.sh [DIR]   # default runs/refine-fmnist; REGNET=path/to/regnet, BUDGET=models
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
regnet=${REGNET:-./regnet}
dir=${1:-runs/refine-fmnist}
out=docs/refine/run
"$regnet" refine anynetx-a --flops 10M:11M --budget "${BUDGET:-80}" --margin 3 \
    --round 8 --looks 3 --screen 16 --seed 1 --workers 2 --threads 1 --dir "$dir"
mkdir -p "$out"
cp "$dir/chain.json" "$dir/analysis.json" "$dir/report.html" "$dir/refine.yaml" "$out/"
cp -r "$dir/spaces" "$out/" 2>/dev/null || true
for s in "$dir"/[0-9][0-9]-*/; do
    name=$(basename "$s")
    "$regnet" sweep export "$s" --format pycls-json -o "$out/$name.sweep.json"
done
echo "the record is in $out"
