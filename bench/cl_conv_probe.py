#!/usr/bin/env python3
"""Maps which float32 convolutions crash libtorch in channels-last training.

PyTorch 2.11's CPU (oneDNN) backward of some small-channel strided
convolutions in channels-last layout dies with SIGSEGV or a heap-corruption
abort. This probe runs each case (three forward + backward passes) in its
own process, so a crash's heap damage cannot be blamed on the next case, and
prints the cases that crashed and a summary per (layout, kernel, stride,
input channels).

    .venv/bin/python bench/cl_conv_probe.py              # the default grid
    .venv/bin/python bench/cl_conv_probe.py --quick      # a small grid (seconds)
    .venv/bin/python bench/cl_conv_probe.py --focus      # 1x1 stride-2, widths 1..24
    .venv/bin/python bench/cl_conv_probe.py --device cuda

Each case is: in/out channels, kernel, stride, square input size, batch,
threads, whether the input needs a gradient, and the layout (channels-last or,
as a control, NCHW). Output: JSON lines (--json FILE) and a text summary.
The full grid (700 cases) takes about 10 minutes on 2 cores.
"""

import argparse
import itertools
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

WORKER = r"""
import sys, json, torch
torch.manual_seed(0)
c = json.loads(sys.argv[1])
torch.set_num_threads(c["threads"])
fmt = torch.channels_last if c["layout"] == "cl" else torch.contiguous_format
dev = c["device"]
m = torch.nn.Conv2d(c["cin"], c["cout"], c["k"], stride=c["s"], padding=(c["k"] - 1) // 2,
                    bias=False).to(dev).to(memory_format=fmt)
for _ in range(STEPS):
    x = torch.randn(c["n"], c["cin"], c["hw"], c["hw"], device=dev).contiguous(memory_format=fmt)
    x.requires_grad_(c["input_grad"])
    m(x).sum().backward()
if dev == "cuda":
    torch.cuda.synchronize()
"""

# Forward + backward passes per case: heap corruption may surface only at a
# later step, as it would in training.
STEPS = 3

# A case still running after this long is counted as hung (a healthy one
# takes a few seconds, most of it importing torch).
HANG_SECONDS = 60


def grid(quick, focus, device):
    if focus:
        # Every input width up to 24 around the crashing 1x1 stride-2 convs.
        return [
            dict(cin=cin, cout=cout, k=1, s=2, hw=hw, n=4, threads=1, input_grad=True,
                 layout="cl", device=device)
            for cin in range(1, 25) for cout in (8, 16, 32) for hw in (40, 48, 64, 112)
        ]
    if quick:
        return [
            dict(cin=cin, cout=8, k=1, s=2, hw=hw, n=4, threads=1, input_grad=True,
                 layout="cl", device=device)
            for cin in (4, 8, 16) for hw in (32, 56)
        ]
    cases = []
    for cin, cout, k, s, hw, n, layout in itertools.product(
        (1, 2, 4, 8, 12, 16, 24),
        (8, 32),
        (1, 3),
        (1, 2),
        (16, 32, 48, 56, 112),
        (4, 32),
        ("cl", "nchw"),
    ):
        # NCHW is the control, run where channels-last is suspect.
        if layout == "nchw" and (k, s) != (1, 2):
            continue
        cases.append(dict(cin=cin, cout=cout, k=k, s=s, hw=hw, n=n, threads=1,
                          input_grad=True, layout=layout, device=device))
    return cases


def run_one(c):
    """One case in a fresh process (a crash's heap damage cannot leak into
    the next case): 'ok', the signal or exit code it died with, or a hang."""
    worker = WORKER.replace("STEPS", str(STEPS))
    try:
        p = subprocess.run([sys.executable, "-c", worker, json.dumps(c)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=HANG_SECONDS)
    except subprocess.TimeoutExpired:
        # Heap damage can also deadlock the allocator: the process hangs.
        return f"hang (killed after {HANG_SECONDS} s)"
    if p.returncode == 0:
        return "ok"
    return f"signal {-p.returncode}" if p.returncode < 0 else f"exit {p.returncode}"


def run(cases, jobs):
    with ThreadPoolExecutor(jobs) as pool:
        return list(zip(cases, pool.map(run_one, cases)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--focus", action="store_true",
                    help="1x1 stride-2 convs only, every input width 1..24 (288 cases)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", help="write one JSON line per case here")
    ap.add_argument("--jobs", type=int, default=os.cpu_count(), help="cases run at once")
    a = ap.parse_args()
    import torch  # noqa: F401  (the version goes into the report)
    results = run(grid(a.quick, a.focus, a.device), a.jobs)
    if a.json:
        with open(a.json, "w") as f:
            for c, o in results:
                f.write(json.dumps({**c, "outcome": o}) + "\n")
    crashed = [(c, o) for c, o in results if o != "ok"]
    print(f"torch {torch.__version__}, device {a.device}: {len(results)} cases, "
          f"{len(crashed)} crashed")
    summary = {}
    for c, o in results:
        key = (c["layout"], c["k"], c["s"], c["cin"])
        ok, bad = summary.get(key, (0, 0))
        summary[key] = (ok + (o == "ok"), bad + (o != "ok"))
    print("layout k s cin: crashed/total")
    for key in sorted(summary):
        ok, bad = summary[key]
        if bad:
            print(f"  {key[0]:>4} {key[1]} {key[2]} {key[3]:>3}: {bad}/{ok + bad}")
    print("crashed cases (cin cout k s hw n threads input_grad layout):")
    for c, o in crashed:
        print(f"  {c['cin']} {c['cout']} {c['k']} {c['s']} {c['hw']} {c['n']} "
              f"{c['threads']} {c['input_grad']} {c['layout']}: {o}")


if __name__ == "__main__":
    main()
