#!/usr/bin/env python3
"""A plain PyTorch population runner: the peer of `regnet sweep run`.

Trains every job of a sweep (its pycls configs, from `regnet sweep export
--format pycls-json`) as pycls runs a sweep: one process per job, a fixed
number of them at once, each with the given libtorch threads. Each job
builds the same network with torchvision's `RegNet` class (per-stage depths,
widths, group widths and bottleneck multipliers; a 3x3 stride-1 stem for
`res_stem_cifar`), and trains it with the job's recipe the way pycls does:
SGD (momentum, Nesterov, weight decay), the learning rate set once per epoch
(half-period cosine), the last partial batch dropped, flip + pad-4 random
crop augmentation, evaluation of the test set after every epoch. The data is
Fashion-MNIST, 28x28 padded to 32x32 and copied to three channels, with the
same class-balanced subset sizes as the sweep's data spec (not the same
images: the draw is numpy's), normalized by the subset's channel statistics.

    python bench/population_runner.py sweep.json --data-dir DIR --train 2000 \
        --test 1000 --workers 2 --threads 1

Prints one line per job and, at the end, `models/hour: X` over the wall time.
"""

import argparse
import gzip
import json
import os
import subprocess
import sys
import time


def load_idx(path):
    import numpy as np

    with gzip.open(path) if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[:4], "big")
    n = int.from_bytes(data[4:8], "big")
    if magic == 0x803:
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, 28, 28)
    return np.frombuffer(data, np.uint8, offset=8)


def balanced(labels, n, seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    classes = sorted(set(labels.tolist()))
    per, extra = divmod(n, len(classes))
    order = rng.permutation(classes)
    picked = []
    for rank, c in enumerate(order):
        members = np.flatnonzero(labels == c)
        picked.extend(rng.choice(members, per + (rank < extra), replace=False))
    return np.sort(np.array(picked))


def split(data_dir, prefix, n, seed):
    import numpy as np
    import torch

    ext = ".gz" if os.path.exists(f"{data_dir}/{prefix}-labels-idx1-ubyte.gz") else ""
    images = load_idx(f"{data_dir}/{prefix}-images-idx3-ubyte{ext}")
    labels = load_idx(f"{data_dir}/{prefix}-labels-idx1-ubyte{ext}")
    keep = balanced(labels, n, seed) if n else np.arange(len(labels))
    x = torch.zeros(len(keep), 3, 32, 32)
    x[:, :, 2:30, 2:30] = torch.from_numpy(images[keep].astype(np.float32) / 255.0)[:, None]
    return x, torch.from_numpy(labels[keep].astype(np.int64))


class CifarStem:
    """torchvision stem factory for pycls's res_stem_cifar: 3x3 conv, stride 1, BN, ReLU."""

    def __new__(cls, w_in, w_out, norm_layer, activation_layer):
        from torchvision.ops.misc import Conv2dNormActivation

        return Conv2dNormActivation(w_in, w_out, kernel_size=3, stride=1,
                                    norm_layer=norm_layer, activation_layer=activation_layer)


def network(cfg):
    """torchvision RegNet with the job's stages (AnyNet or RegNet config)."""
    from torchvision.models.regnet import BlockParams, RegNet

    a = cfg["ANYNET"]
    params = BlockParams(a["DEPTHS"], a["WIDTHS"], a["GROUP_WS"], a["BOT_MULS"], a["STRIDES"])
    stem = CifarStem if a.get("STEM_TYPE") == "res_stem_cifar" else None
    return RegNet(params, num_classes=cfg["MODEL"]["NUM_CLASSES"], stem_width=a["STEM_W"],
                  stem_type=stem)


def as_anynet(cfg, path, regnet):
    """The config with its network written as AnyNet stages: a RegNet's
    stages come from `regnet describe --json` (the same expansion pycls does)."""
    if cfg["MODEL"]["TYPE"] != "regnet":
        return cfg
    json.dump(cfg, open(path, "w"))
    d = json.loads(subprocess.run([regnet, "describe", path, "--json"], check=True,
                                  capture_output=True).stdout)
    r = cfg["REGNET"]
    stages = d["stages"]
    cfg = dict(cfg)
    cfg["MODEL"] = dict(cfg["MODEL"], TYPE="anynet")
    cfg["ANYNET"] = {
        "STEM_TYPE": r.get("STEM_TYPE", "simple_stem_in"), "STEM_W": r.get("STEM_W", 32),
        "DEPTHS": [s["depth"] for s in stages], "WIDTHS": [s["width"] for s in stages],
        "STRIDES": [s["stride"] for s in stages], "BOT_MULS": [s["bot_mul"] for s in stages],
        "GROUP_WS": [s["group_w"] for s in stages],
    }
    del cfg["REGNET"]
    return cfg


def augment(x, gen):
    import torch

    n = x.shape[0]
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4))
    offsets = torch.randint(0, 9, (n, 2), generator=gen)
    flips = torch.rand(n, generator=gen) < 0.5
    out = torch.empty_like(x)
    for i in range(n):
        dy, dx = offsets[i].tolist()
        crop = padded[i, :, dy:dy + 32, dx:dx + 32]
        out[i] = crop.flip(2) if flips[i] else crop
    return out


def train_job(job_file, data_dir, n_train, n_test, seed, threads):
    """One job, in this process: returns the final test top-1 error."""
    import math
    import torch

    torch.set_num_threads(threads)
    job = json.load(open(job_file))
    cfg = job["cfg"]
    optim, train_cfg = cfg.get("OPTIM", {}), cfg.get("TRAIN", {})
    torch.manual_seed(cfg.get("RNG_SEED", 1))
    xtr, ytr = split(data_dir, "train", n_train, seed)
    xte, yte = split(data_dir, "t10k", n_test, seed)
    mean = xtr.mean(dim=(0, 2, 3), keepdim=True)
    std = xtr.std(dim=(0, 2, 3), keepdim=True)
    xtr, xte = (xtr - mean) / std, (xte - mean) / std
    model = network(cfg)
    params = sum(p.numel() for p in model.parameters())
    if params != job["params"]:
        raise SystemExit(f"{job_file}: torchvision built {params} parameters, the sweep's model "
                         f"has {job['params']}: not the same network")
    epochs, batch = optim.get("MAX_EPOCH", 200), train_cfg.get("BATCH_SIZE", 128)
    base_lr = optim.get("BASE_LR", 0.1)
    sgd = torch.optim.SGD(model.parameters(), lr=base_lr, momentum=optim.get("MOMENTUM", 0.9),
                          nesterov=optim.get("NESTEROV", True),
                          weight_decay=optim.get("WEIGHT_DECAY", 5e-4))
    gen = torch.Generator().manual_seed(0)
    loss_fn = torch.nn.CrossEntropyLoss()
    err = 100.0
    for epoch in range(epochs):
        for g in sgd.param_groups:
            g["lr"] = base_lr * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))
        model.train()
        order = torch.randperm(len(ytr), generator=gen)
        for b in range(len(ytr) // batch):
            idx = order[b * batch:(b + 1) * batch]
            loss = loss_fn(model(augment(xtr[idx], gen)), ytr[idx])
            sgd.zero_grad()
            loss.backward()
            sgd.step()
        model.eval()
        wrong = 0
        with torch.no_grad():
            for b in range(0, len(yte), 200):
                wrong += (model(xte[b:b + 200]).argmax(1) != yte[b:b + 200]).sum().item()
        err = 100.0 * wrong / len(yte)
    return err


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sweep_json", nargs="?")
    ap.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--train", type=int, default=0, help="balanced training subset (0: all)")
    ap.add_argument("--test", type=int, default=0, help="balanced test subset (0: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--regnet", default="target/release/regnet",
                    help="the regnet binary, to expand RegNet configs into stages")
    ap.add_argument("--job", help=argparse.SUPPRESS)  # a worker process's job file
    a = ap.parse_args()
    if a.job:
        err = train_job(a.job, a.data_dir, a.train, a.test, a.seed, a.threads)
        print(json.dumps({"top1_err": err}))
        return
    records = json.load(open(a.sweep_json))
    os.makedirs("/tmp/population_runner", exist_ok=True)
    jobs = []
    for i, r in enumerate(records):
        path = f"/tmp/population_runner/job-{i:04d}.json"
        cfg = as_anynet(r["cfg"], path, a.regnet)
        json.dump({"cfg": cfg, "params": r["complexity"]["params"]}, open(path, "w"))
        jobs.append(path)
    start, running, done = time.time(), [], 0
    while jobs or running:
        while jobs and len(running) < a.workers:
            job = jobs.pop(0)
            cmd = [sys.executable, __file__, "--job", job, "--data-dir", a.data_dir,
                   "--train", str(a.train), "--test", str(a.test), "--seed", str(a.seed),
                   "--threads", str(a.threads)]
            running.append((job, time.time(), subprocess.Popen(cmd, stdout=subprocess.PIPE)))
        for item in list(running):
            job, t0, p = item
            if p.poll() is None:
                continue
            running.remove(item)
            out = p.stdout.read().decode().strip()
            done += 1
            print(f"{os.path.basename(job)}: {out} ({time.time() - t0:.1f} s)", flush=True)
        time.sleep(0.05)
    wall = time.time() - start
    print(f"{done} models in {wall:.1f} s; models/hour: {3600 * done / wall:.1f}")


if __name__ == "__main__":
    main()
