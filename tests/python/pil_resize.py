"""PIL's resampling of the crops a Rust test asks for, as torchvision's
transforms do it (`img.crop(box).resize(size, BILINEAR)` for random-resized
crops; `img.resize(wh, BILINEAR)` then a crop for the test view).

    pil_resize.py IMAGE.png WINDOWS.txt OUT.raw

WINDOWS.txt: one window per line, `crop X Y W H SIZE` or `resized W H X Y SIZE`.
OUT.raw: the RGB bytes of every result, in order.
"""
import sys

from PIL import Image


def main():
    img = Image.open(sys.argv[1]).convert("RGB")
    out = open(sys.argv[3], "wb")
    for line in open(sys.argv[2]):
        kind, a, b, c, d, size = line.split()
        a, b, c, d, size = map(int, (a, b, c, d, size))
        if kind == "crop":
            res = img.crop((a, b, a + c, b + d)).resize((size, size), Image.BILINEAR)
        else:
            res = img.resize((a, b), Image.BILINEAR).crop((c, d, c + size, d + size))
        out.write(res.tobytes())


if __name__ == "__main__":
    main()
