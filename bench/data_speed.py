"""torchvision's side of bench/data_speed.sh: ImageFolder + DataLoader with the
transforms pycls trains and tests ImageNet with, batch tensors ready for the
model, timed over the folder.

    data_speed.py DIR train|test WORKERS BATCH

Prints `images/s` (after the first batch, so worker start-up is not counted).
"""
import sys
import time

import torch
import torchvision.transforms as T
from torch.utils.data import DataLoader
from torchvision.datasets import ImageFolder

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
EIGVALS = torch.tensor([0.2175, 0.0188, 0.0045])
EIGVECS = torch.tensor(
    [[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]]
)


class Lighting:
    """pycls's PCA lighting (TRAIN.PCA_STD 0.1) on the normalized tensor."""

    def __call__(self, x):
        alpha = torch.randn(3) * 0.1
        return x + (EIGVECS @ (alpha * EIGVALS)).view(3, 1, 1)


def init_worker(_):
    torch.set_num_threads(1)


def main():
    root, view, workers, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(1)
    if view == "train":
        tf = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ToTensor(),
                        T.Normalize(MEAN, STD), Lighting()])
        split = "train"
    else:
        tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize(MEAN, STD)])
        split = "val"
    data = ImageFolder(f"{root}/{split}", transform=tf)
    loader = DataLoader(data, batch_size=batch, shuffle=(view == "train"), num_workers=workers,
                        worker_init_fn=init_worker, drop_last=True, persistent_workers=False)
    it = iter(loader)
    next(it)
    start, n = time.perf_counter(), 0
    for x, _ in it:
        n += x.shape[0]
    print(f"{n / (time.perf_counter() - start):.1f}")


if __name__ == "__main__":
    main()
