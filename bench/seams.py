#!/usr/bin/python3
"""Tile seams: mean squared error of the pixels on either side of a tile
border (one row or column each side) against that of every other pixel.

  bench/seams.py MSIC_BINARY IMAGE... [--tile-sizes 512,256,128]
                 [--qualities 0,20,50] [--effort N]
  (e.g. build/tools/msic/msic ../shared/datasets/kodak/kodim0*.png)

A ratio of 1.0 means borders are as good as the rest of the image. It also
prints the error by distance from the nearest tile border (0 = the pixel
next to it; image edges do not count as borders) over the image's mean,
which shows how far a border's harm reaches. At 512-px tiles a Kodak image
has one border, so its ratio depends more on the content there.
"""
import argparse
import os
import subprocess
import tempfile

import numpy as np

from rd import read_image  # bench/rd.py's reader: 8-bit RGB of any image libvips reads


def border_distance(h, w, tile):
    """Each pixel's distance to the nearest tile border (not image edge)."""
    def along(n):
        i = np.arange(n)
        before = np.where(i >= tile, i % tile, 1 << 30)        # border at its tile's start
        after = np.where(i // tile < (n - 1) // tile, tile - 1 - i % tile, 1 << 30)
        return np.minimum(before, after)
    dy, dx = along(h), along(w)
    return np.minimum(dy[:, None], dx[None, :])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("msic")
    ap.add_argument("images", nargs="+")
    ap.add_argument("--tile-sizes", default="512,256,128")
    ap.add_argument("--qualities", default="0,20,50")
    ap.add_argument("--effort", type=int, default=None, help="default: the encoder's")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        coded = os.path.join(work, "s.msic")
        decoded = os.path.join(work, "s.png")
        originals = {p: read_image(p).astype(np.float64) for p in args.images}
        for tile in [int(t) for t in args.tile_sizes.split(",")]:
            for q in [int(v) for v in args.qualities.split(",")]:
                band, rest, bits, pixels = [], [], 0, 0
                profile = np.zeros(4)
                for p in args.images:
                    cmd = [args.msic, "encode", p, coded, "--quality", str(q), "--tile-size", str(tile)]
                    if args.effort is not None:
                        cmd += ["--effort", str(args.effort)]
                    subprocess.run(cmd, check=True)
                    subprocess.run([args.msic, "decode", coded, decoded], check=True)
                    a = originals[p]
                    e = ((a - read_image(decoded).astype(np.float64)) ** 2).mean(axis=2)
                    d = border_distance(*e.shape, tile)
                    band.append(e[d == 0].mean())
                    rest.append(e[d > 0].mean())
                    profile += [e[d == k].mean() / e.mean() for k in range(4)]
                    bits += os.path.getsize(coded) * 8
                    pixels += e.size
                profile /= len(args.images)
                print("tile %d, q%d: %.3f bpp, MSE at tile borders %.2f, elsewhere %.2f, ratio %.3f; "
                      "by distance 0-3: %s" % (tile, q, bits / pixels, np.mean(band), np.mean(rest),
                                               np.mean(band) / np.mean(rest),
                                               " ".join("%.2f" % v for v in profile)), flush=True)


if __name__ == "__main__":
    main()
