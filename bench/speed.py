"""PyTorch eager peer for bench/speed.sh: images/s of the same architecture
our engine runs, in NCHW or channels-last.

    speed.py MODEL MODE BATCH IM_SIZE STEPS LAYOUT DEVICE
MODEL: regnetx200_cifar (RegNetX-200MF widths, CIFAR stem: 3x3 conv stride 1)
       or a torchvision model name (regnet_y_400mf, ...)
MODE: train (forward, backward, SGD step) or infer (eval-mode forward, no grad)
LAYOUT: nchw or cl (channels-last model and input), either with +amp for
        training under float16 autocast with a GradScaler (CUDA), and/or
        +compile for torch.compile (compiled during the warm-up steps)"""
import sys
import time
from functools import partial

import torch
import torchvision
from torchvision.models.regnet import BlockParams, RegNet
from torchvision.ops.misc import Conv2dNormActivation

name, mode, batch, im, steps, layout, device = sys.argv[1:8]
batch, im, steps = int(batch), int(im), int(steps)
amp = "+amp" in layout
compile_it = "+compile" in layout
layout = layout.split("+")[0]
torch.manual_seed(0)


class CifarStem(Conv2dNormActivation):
    """pycls res_stem_cifar: 3x3 conv stride 1, BN, ReLU."""

    def __init__(self, width_in, width_out, norm_layer, activation_layer):
        super().__init__(width_in, width_out, kernel_size=3, stride=1,
                         norm_layer=norm_layer, activation_layer=activation_layer)


if name == "regnetx200_cifar":
    params = BlockParams.from_init_params(depth=13, w_0=24, w_a=36.44, w_m=2.49, group_width=8)
    model = RegNet(params, num_classes=10, stem_type=CifarStem)
else:
    model = getattr(torchvision.models, name)(weights=None, num_classes=10)
model = model.to(device)
x = torch.randn(batch, 3, im, im, device=device)
y = torch.randint(10, (batch,), device=device)
if layout == "cl":
    model = model.to(memory_format=torch.channels_last)
    x = x.contiguous(memory_format=torch.channels_last)
run = torch.compile(model) if compile_it else model
if mode == "train":
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-5)
    loss_fn = torch.nn.CrossEntropyLoss()

    scaler = torch.amp.GradScaler(device, enabled=amp)

    def step():
        opt.zero_grad(set_to_none=False)
        with torch.autocast(device, dtype=torch.float16, enabled=amp):
            loss = loss_fn(run(x), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
else:
    model.eval()

    def step():
        with torch.no_grad():
            run(x)

for _ in range(3):
    step()
if device == "cuda":
    torch.cuda.synchronize()
t = time.perf_counter()
for _ in range(steps):
    step()
if device == "cuda":
    torch.cuda.synchronize()
print(batch * steps / (time.perf_counter() - t))
