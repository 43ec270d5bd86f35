"""An ImageNet-like folder for bench/data_speed.sh: DIR/{train,val}/<class>/*.JPEG,
about 500x375 (some portrait, sizes jittered), quality 90, with smooth
shapes, gradients and grain so files are of ImageNet-like size (tens of KB).

    make_jpeg_folder.py DIR TRAIN_PER_CLASS VAL_PER_CLASS [CLASSES]
"""
import os
import sys

import numpy as np
from PIL import Image


def picture(rng, w, h):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.zeros((h, w, 3), np.float32)
    for c in range(3):
        fx, fy, ph = rng.uniform(0.002, 0.03, 2).tolist() + [rng.uniform(0, 6.3)]
        img[..., c] = 128 + 90 * np.sin(fx * xx + fy * yy + ph)
    for _ in range(6):  # blobs
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(20, 120)
        mask = ((xx - cx) ** 2 + (yy - cy) ** 2) < r * r
        img[mask] = rng.uniform(0, 255, 3)
    img += rng.normal(0, 12, img.shape)  # grain
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def main():
    root, n_train, n_val = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    classes = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("val", n_val)):
        for c in range(classes):
            d = os.path.join(root, split, f"class{c:02d}")
            os.makedirs(d, exist_ok=True)
            for i in range(n):
                w, h = int(rng.integers(440, 560)), int(rng.integers(330, 420))
                if rng.random() < 0.2:
                    w, h = h, w
                picture(rng, w, h).save(os.path.join(d, f"{i:05d}.JPEG"), quality=90)


if __name__ == "__main__":
    main()
