"""Reference outputs from torchvision, for the Rust parity tests.

    python torchvision_reference.py NAME OUTDIR

builds torchvision.models.NAME (10 classes, seed 0) in eval mode with
non-trivial BN statistics and writes to OUTDIR:
  reference.npz        every floating-point state-dict tensor as "param.KEY",
                       "input" and "output"; and a train-mode forward
                       ("train_output") with the gradient of each
                       parameter ("grad.KEY") for a random "upstream"
  weights.safetensors  the state dict (the format written by hand: an 8-byte
                       header length, a JSON header, the raw tensors)
  weights.pth          the state dict as torch.save writes it
  checkpoint.pyth      a pycls-style checkpoint: {"epoch", "model_state", "optimizer_state"}
  x.npy, y.npy         the input batch and torchvision's eval-mode logits
"""
import copy
import json
import struct
import sys
from pathlib import Path

import numpy as np
import torch
import torchvision

name, out = sys.argv[1], Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
torch.manual_seed(0)
model = getattr(torchvision.models, name)(weights=None, num_classes=10).eval()
with torch.no_grad():
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.1, 0.1)
x = torch.randn(3, 3, 64, 64)
with torch.no_grad():
    y = model(x)
state = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}

arrays = {"param." + k: v for k, v in state.items() if v.dtype == np.float32}

# A train-mode forward and backward (BN on batch statistics; dropout and
# stochastic depth off, as the test turns ours off) for the gradient check,
# on a copy: training updates BN's running statistics, which `state` shares.
trained = copy.deepcopy(model)
for m in trained.modules():
    if isinstance(m, (torch.nn.Dropout, torchvision.ops.StochasticDepth)):
        m.p = 0.0
trained.train()
y_train = trained(x)
upstream = torch.randn(y_train.shape)
y_train.backward(upstream)
for k, p in trained.named_parameters():
    arrays["grad." + k] = p.grad.numpy()
arrays["train_output"] = y_train.detach().numpy()
arrays["upstream"] = upstream.numpy()
np.savez(out / "reference.npz", input=x.numpy(), output=y.numpy(), **arrays)
np.save(out / "x.npy", x.numpy())
np.save(out / "y.npy", y.numpy())

header, blobs, offset = {}, [], 0
for k, arr in state.items():
    dtype = {np.float32: "F32", np.int64: "I64"}[arr.dtype.type]
    data = np.ascontiguousarray(arr).tobytes()
    header[k] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
    blobs.append(data)
    offset += len(data)
head = json.dumps(header).encode()
head += b" " * ((8 - len(head) % 8) % 8)
with open(out / "weights.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(head)))
    f.write(head)
    for b in blobs:
        f.write(b)

torch.save(model.state_dict(), out / "weights.pth")
torch.save({"epoch": 9, "model_state": model.state_dict(), "optimizer_state": {"state": {}}},
           out / "checkpoint.pyth")
