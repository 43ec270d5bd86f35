#!/usr/bin/env python3
"""Maps which float32 convolutions crash libtorch in channels-last training.

PyTorch 2.11's CPU (oneDNN) backward of some small-channel strided
convolutions in channels-last layout dies with SIGSEGV or a heap-corruption
abort. This probe runs one forward + backward per case in worker processes
(a crash kills only the worker; the driver records the case and starts a new
worker at the next case) and prints a table of the cases that crashed, and a
summary per (kernel, stride, input channels).

    .venv/bin/python bench/cl_conv_probe.py              # the default grid
    .venv/bin/python bench/cl_conv_probe.py --quick      # a small grid (seconds)
    .venv/bin/python bench/cl_conv_probe.py --device cuda

Each case is: in/out channels, kernel, stride, square input size, batch,
threads, whether the input needs a gradient, and the layout (channels-last or,
as a control, NCHW). Output: JSON lines (--json FILE) and a text summary.
"""

import argparse
import itertools
import json
import subprocess
import sys

WORKER = r"""
import sys, json, torch
torch.manual_seed(0)
for line in sys.stdin:
    c = json.loads(line)
    torch.set_num_threads(c["threads"])
    fmt = torch.channels_last if c["layout"] == "cl" else torch.contiguous_format
    dev = c["device"]
    m = torch.nn.Conv2d(c["cin"], c["cout"], c["k"], stride=c["s"], padding=(c["k"] - 1) // 2,
                        bias=False).to(dev).to(memory_format=fmt)
    x = torch.randn(c["n"], c["cin"], c["hw"], c["hw"], device=dev).contiguous(memory_format=fmt)
    x.requires_grad_(c["input_grad"])
    print("START", flush=True)
    m(x).sum().backward()
    if dev == "cuda":
        torch.cuda.synchronize()
    print("OK", flush=True)
"""


def grid(quick, device):
    if quick:
        return [
            dict(cin=cin, cout=8, k=1, s=2, hw=hw, n=4, threads=1, input_grad=True,
                 layout="cl", device=device)
            for cin in (4, 8, 16) for hw in (32, 56)
        ]
    cases = []
    for cin, cout, k, s, hw, n, threads, ig, layout in itertools.product(
        (1, 2, 3, 4, 6, 8, 12, 16, 24, 32),
        (8, 16, 32),
        (1, 3),
        (1, 2),
        (16, 32, 40, 48, 56, 64, 112),
        (1, 4, 32),
        (1, 2),
        (True, False),
        ("cl", "nchw"),
    ):
        # The control layout and the extra axes only around the suspect region.
        if layout == "nchw" and (k, s, hw, n, threads) != (1, 2, 56, 4, 1):
            continue
        if (threads, ig) != (1, True) and (k, s, hw) != (1, 2, 56):
            continue
        if n != 4 and (k, s) != (1, 2):
            continue
        cases.append(dict(cin=cin, cout=cout, k=k, s=s, hw=hw, n=n, threads=threads,
                          input_grad=ig, layout=layout, device=device))
    return cases


def run(cases):
    """Runs every case; returns (case, outcome) with outcome 'ok' or the signal/exit."""
    results, i = [], 0
    while i < len(cases):
        p = subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for c in cases[i:]:
            p.stdin.write(json.dumps(c) + "\n")
        p.stdin.close()
        while i < len(cases):
            if p.stdout.readline().strip() != "START":
                break
            if p.stdout.readline().strip() != "OK":
                break
            results.append((cases[i], "ok"))
            i += 1
        code = p.wait()
        if i < len(cases):
            why = f"signal {-code}" if code < 0 else f"exit {code}"
            results.append((cases[i], why))
            i += 1
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", help="write one JSON line per case here")
    a = ap.parse_args()
    import torch  # noqa: F401  (the version goes into the report)
    results = run(grid(a.quick, a.device))
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
