"""Writes a torchvision model's weights, an input and its eval-mode output to an
.npz file, for the Rust parity test: python torchvision_reference.py NAME OUT.npz"""
import sys

import numpy as np
import torch
import torchvision

name, out = sys.argv[1], sys.argv[2]
torch.manual_seed(0)
model = getattr(torchvision.models, name)(weights=None, num_classes=10).eval()
# Non-trivial BN statistics and affine terms, so eval-mode BN is really tested.
with torch.no_grad():
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.1, 0.1)
x = torch.randn(2, 3, 96, 96)
with torch.no_grad():
    y = model(x)
arrays = {"param." + k: v.numpy() for k, v in model.state_dict().items() if v.dtype.is_floating_point}
arrays["input"] = x.numpy()
arrays["output"] = y.numpy()
np.savez(out, **arrays)
