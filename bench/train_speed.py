"""PyTorch peer for bench/train_speed.sh: images/s of SGD training steps on
the torchvision model with the same architecture as our zoo model.
Usage: train_speed.py TORCHVISION_NAME BATCH IM_SIZE STEPS DEVICE"""
import sys
import time

import torch
import torchvision

name, batch, im, steps, device = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
torch.manual_seed(0)
model = getattr(torchvision.models, name)(weights=None, num_classes=10).to(device).train()
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-5)
x = torch.randn(batch, 3, im, im, device=device)
y = torch.randint(10, (batch,), device=device)
loss_fn = torch.nn.CrossEntropyLoss()


def step():
    opt.zero_grad(set_to_none=False)
    loss_fn(model(x), y).backward()
    opt.step()


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
