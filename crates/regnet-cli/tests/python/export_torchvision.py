"""Exports a torchvision model as safetensors (written by hand: the format is
an 8-byte header length, a JSON header and the raw tensors), plus an input and
its eval-mode output as .npy: python export_torchvision.py NAME OUTDIR"""
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
header, blobs, offset = {}, [], 0
for k, v in model.state_dict().items():
    arr = v.detach().cpu().numpy()
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
x = torch.randn(3, 3, 64, 64)
with torch.no_grad():
    y = model(x)
np.save(out / "x.npy", x.numpy())
np.save(out / "y.npy", y.numpy())
