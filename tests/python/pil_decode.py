"""Images of the kinds that trip loaders, and what PIL makes of them: for each
case, OUT/NAME (the file) and OUT/NAME.rgb (the raw RGB bytes of
`Image.open(f).convert("RGB")`, what torchvision's ImageFolder loader returns),
with OUT/NAME.size holding "W H".

    pil_decode.py OUT
"""
import os
import sys

import numpy as np
from PIL import Image


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:45, 0:60]
    smooth = np.stack([xx * 4, yy * 5, (xx + yy) * 2], -1).astype(np.uint8)
    rgb = Image.fromarray(smooth)
    cases = {
        "cmyk.jpg": lambda p: rgb.convert("CMYK").save(p, quality=95),
        "gray.jpg": lambda p: rgb.convert("L").save(p, quality=95),
        "gray.png": lambda p: rgb.convert("L").save(p),
        "gray16.png": lambda p: Image.fromarray(
            (rng.random((45, 60)) * 65535).astype(np.uint16)).save(p),
        "gray16_low.png": lambda p: Image.fromarray(
            (rng.random((45, 60)) * 300).astype(np.uint16)).save(p),
        "rgb16.png": lambda p: write_png16(p, (rng.random((45, 60, 3)) * 65535).astype(">u2")),
        "rgba.png": lambda p: rgb.convert("RGBA").save(p),
        "gray_alpha.png": lambda p: rgb.convert("LA").save(p),
        "palette.png": lambda p: rgb.convert("P").save(p),
        "exif_rotated.jpg": lambda p: save_rotated(rgb, p),
        "progressive.jpg": lambda p: rgb.save(p, quality=90, progressive=True),
    }
    for name, write in cases.items():
        path = os.path.join(out, name)
        write(path)
        im = Image.open(path).convert("RGB")
        with open(path + ".rgb", "wb") as f:
            f.write(np.asarray(im).tobytes())
        with open(path + ".size", "w") as f:
            f.write(f"{im.width} {im.height}")


def write_png16(path, rgb16):
    """A 16-bit RGB PNG (PIL cannot write one): signature, IHDR, IDAT, IEND."""
    import struct
    import zlib

    h, w, _ = rgb16.shape
    raw = b"".join(b"\x00" + rgb16[y].tobytes() for y in range(h))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw))
                + chunk(b"IEND", b""))


def save_rotated(im, path):
    exif = im.getexif()
    exif[0x0112] = 6  # orientation: rotate 90 CW to display; PIL's open ignores it
    im.save(path, quality=95, exif=exif)


if __name__ == "__main__":
    main()
