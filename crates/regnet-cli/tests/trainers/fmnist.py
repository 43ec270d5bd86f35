"""Fashion-MNIST for the sweep tests' trainers, read as the sweep names it.

REGNET_DATA is `fashion-mnist[:DIR][,train=N][,test=N]` (the sweep's DATA);
the first N images of each split are used, padded to the models' input size
and repeated over three channels, scaled as the toolkit scales them.
"""
import gzip
import os

import numpy as np
import torch

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"


def parse(spec):
    head, *opts = spec.split(",")
    name, _, where = head.partition(":")
    assert name == "fashion-mnist", "these test trainers read fashion-mnist, got " + spec
    sizes = dict(o.split("=") for o in opts)
    return where or DEFAULT_DIR, int(sizes.get("train", 60000)), int(sizes.get("test", 10000))


def idx(path, n, header):
    with gzip.open(path, "rb") as f:
        data = f.read(header + n * (784 if header == 16 else 1))
    return np.frombuffer(data[header:], dtype=np.uint8)


def split(where, prefix, n, size):
    x = idx(os.path.join(where, prefix + "-images-idx3-ubyte.gz"), n, 16).reshape(-1, 1, 28, 28)
    y = idx(os.path.join(where, prefix + "-labels-idx1-ubyte.gz"), n, 8)
    x = torch.from_numpy(x.astype(np.float32) / 255.0)
    pad = (size - 28) // 2
    x = torch.nn.functional.pad(x, (pad, size - 28 - pad, pad, size - 28 - pad))
    x = ((x - 0.2860) / 0.3530).repeat(1, 3, 1, 1)
    return x, torch.from_numpy(y.astype(np.int64))


def load(spec, size):
    where, n_train, n_test = parse(spec)
    return split(where, "train", n_train, size), split(where, "t10k", n_test, size)


def batches(x, y, batch_size, seed=None):
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed)) if seed is not None else torch.arange(len(x))
    for i in range(0, len(x), batch_size):
        j = order[i : i + batch_size]
        yield x[j], y[j]


def faults(out_dir, epoch):
    """The failures a test asks for (through the environment), at the start
    of 0-based `epoch`: a crash on the first attempt only, or a hang."""
    marker = os.path.join(out_dir, "crashed-once")
    if int(os.environ.get("TRAINER_TEST_CRASH_AT", "-1")) == epoch and not os.path.exists(marker):
        open(marker, "w").close()
        raise RuntimeError("injected crash at epoch {}".format(epoch + 1))
    if int(os.environ.get("TRAINER_TEST_HANG_AT", "-1")) == epoch:
        import time

        time.sleep(3600)
