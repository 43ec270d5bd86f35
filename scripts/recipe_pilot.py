#!/usr/bin/env python3
"""The design loop's recipe pilot (docs/refine.md, "A recipe that trains every model").

Phase `tail`: every model of the committed loop run (docs/refine/run/) that
ended above 30% error, retrained under each regime below, so a fix is judged
on exactly the models the old recipe failed. Phase `trace`: the first epoch
of each of those models under the old recipe with `regnet train --trace`
(loss, gradient norm and the layers with the largest gradients, per step).

Each run is `regnet train` of the model's own pycls config with the regime's
changes, in DIR/REGIME/NAME/ (resumable: a finished run is skipped, a
started one continues). A regime is chosen by spread and tail only; which
space it makes win is not looked at.

    scripts/recipe_pilot.py trace [--dir D]
    scripts/recipe_pilot.py tail REGIME... [--dir D] [--jobs J]
    scripts/recipe_pilot.py table [--dir D]        # the markdown table
    REGNET=path/to/regnet scripts/recipe_pilot.py ...   # default ./regnet
"""
import argparse
import concurrent.futures
import copy
import glob
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN = os.path.join(ROOT, "docs/refine/run")
DATA = "fashion-mnist,train=5000,test=2000"
TAIL = 30.0

# Each regime: the recipe keys it changes (section, key, value), pycls's
# own switches first, then this toolkit's.
REGIMES = {
    "base": [],
    "warmup1": [("OPTIM", "WARMUP_EPOCHS", 1)],
    "warmup1-iter": [("OPTIM", "WARMUP_EPOCHS", 1), ("TOOLKIT", "LR_UPDATE", "iter")],
    "zig": [("BN", "ZERO_INIT_FINAL_GAMMA", True)],
    "warmup1-iter-zig": [
        ("OPTIM", "WARMUP_EPOCHS", 1),
        ("TOOLKIT", "LR_UPDATE", "iter"),
        ("BN", "ZERO_INIT_FINAL_GAMMA", True),
    ],
    "lr0.025": [("OPTIM", "BASE_LR", 0.025)],
    "ls0.1": [("TRAIN", "LABEL_SMOOTHING", 0.1)],
    "clip5": [("TOOLKIT", "CLIP_GRAD_NORM", 5.0)],
    "clip1": [("TOOLKIT", "CLIP_GRAD_NORM", 1.0)],
}


def failing_models():
    """(name, error, cfg) of every committed loop model above the tail line."""
    out = []
    for path in sorted(glob.glob(os.path.join(RUN, "*.sweep.json"))):
        step = os.path.basename(path).split("-")[0]
        for i, m in enumerate(json.load(open(path))):
            err = m["test_epoch"]["top1_err"][-1]
            if err > TAIL:
                out.append((f"s{step}-m{i:02d}", err, m["cfg"]))
    return out


def regime_cfg(cfg, regime):
    cfg = copy.deepcopy(cfg)
    for section, key, value in REGIMES[regime]:
        cfg.setdefault(section, {})[key] = value
    return cfg


def metrics(run_dir):
    path = os.path.join(run_dir, "metrics.json")
    if not os.path.exists(path):
        return None
    return json.load(open(path))


def train(regnet, run_dir, cfg, extra):
    """One `regnet train`, resumed when a checkpoint exists; its log kept."""
    if metrics(run_dir) is not None:
        return
    os.makedirs(run_dir, exist_ok=True)
    cfg_path = os.path.join(run_dir, "model.yaml")
    with open(cfg_path, "w") as f:
        json.dump(cfg, f, indent=1)  # JSON is YAML: every config reader takes it
    resume = ["--resume"] if os.path.exists(os.path.join(run_dir, "out", "checkpoint.safetensors")) else []
    cmd = [regnet, "train", cfg_path, "--data", DATA, "--threads", "1",
           "--out", os.path.join(run_dir, "out")] + resume + extra
    with open(os.path.join(run_dir, "train.log"), "a") as log:
        subprocess.run(cmd, stdout=log, stderr=log, check=True)
    os.replace(os.path.join(run_dir, "out", "metrics.json"), os.path.join(run_dir, "metrics.json"))


def run_all(jobs, tasks):
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        for f in [pool.submit(train, *t) for t in tasks]:
            f.result()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("phase", choices=["trace", "tail", "table"])
    p.add_argument("regimes", nargs="*")
    p.add_argument("--dir", default=os.path.join(ROOT, "sweeps/recipe-pilot"))
    p.add_argument("--jobs", type=int, default=1)
    a = p.parse_args()
    regnet = os.environ.get("REGNET", os.path.join(ROOT, "regnet"))
    models = failing_models()
    if a.phase == "trace":
        tasks = []
        for name, _, cfg in models:
            d = os.path.join(a.dir, "trace", name)
            tasks.append((regnet, d, cfg, ["--epochs", "1", "--trace", os.path.join(d, "trace.jsonl")]))
        run_all(a.jobs, tasks)
    elif a.phase == "tail":
        unknown = [r for r in a.regimes if r not in REGIMES]
        if unknown or not a.regimes:
            sys.exit(f"error: regimes {unknown or 'none given'} (allowed: {', '.join(REGIMES)})")
        tasks = [(regnet, os.path.join(a.dir, r, name), regime_cfg(cfg, r), [])
                 for r in a.regimes for name, _, cfg in models]
        run_all(a.jobs, tasks)
    else:
        table(a.dir, models)


def table(root, models):
    print("| regime | models done | above 30% | median | mean (SD) | worst | s per model |")
    print("|---|---|---|---|---|---|---|")
    recorded = [e for _, e, _ in models]
    print(f"| recorded (Intel Xeon, f60618b) | {len(recorded)} | {sum(e > TAIL for e in recorded)} | "
          f"{statistics.median(recorded):.1f} | {statistics.mean(recorded):.1f} ({statistics.stdev(recorded):.1f}) | "
          f"{max(recorded):.1f} | |")
    for r in REGIMES:
        ms = [metrics(os.path.join(root, r, name)) for name, _, _ in models]
        ms = [m for m in ms if m is not None]
        if not ms:
            continue
        errs = [m["test_top1_err"] for m in ms]
        secs = [m["seconds"] for m in ms]
        sd = statistics.stdev(errs) if len(errs) > 1 else float("nan")
        print(f"| {r} | {len(ms)} of {len(models)} | {sum(e > TAIL for e in errs)} | {statistics.median(errs):.1f} | "
              f"{statistics.mean(errs):.1f} ({sd:.1f}) | {max(errs):.1f} | {statistics.mean(secs):.0f} |")


if __name__ == "__main__":
    main()
