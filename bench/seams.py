#!/usr/bin/python3
"""Tile seams: how much worse pixels code next to a tile border.

  bench/seams.py MSIC_BINARY IMAGE... [--tile-sizes 512,256,128]
                 [--qualities 0,20,50] [--effort N]
  (e.g. build/tools/msic/msic ../shared/datasets/kodak/kodim0*.png)

Per tile size and quality it prints three measures; 1.0 means no seam.

- ratio: mean squared error of the pixels on either side of a border (one
  row or column each side; image edges are not borders) against that of
  every other pixel. It also weighs what the images show there: at 512-px
  tiles a Kodak image has one border.
- against the same pixels away from a border: each image is coded a second
  time with its top-left corner cropped away (about half a tile, a
  multiple of kGrid pixels, so the latent grids fall as before), which
  moves the tile grid; the error of the pixels at distance 0-3 from a
  border is set against the error of the same pixels in the other encode,
  where they lie at least kAway pixels from any border (both ways round,
  pooled over the images; pixels within kAway of an image edge or the
  crop's edge do not count). The same content on both sides of the ratio;
  it takes twice the encodes.
- the step across a border: the same comparison for the squared error of
  the difference between the two pixels either side of a border. Tiles are
  coded independently, so their errors do not agree across a border even
  where each side's error is no larger than elsewhere: this is how a seam
  shows, a line where the tint changes.
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


# How far from every border and edge a pixel must lie to count as away from
# them in the shifted comparison: a latent cell of the coarsest level.
kAway = 16
# The shift is a multiple of this, so that the content sits on the latent
# grids as it did (a model of up to five levels).
kGrid = 32


def write_pnm(path, pixels, grey):
    """PPM, or PGM of the first channel for a grey source (coded as grey)."""
    h, w, _ = pixels.shape
    with open(path, "wb") as f:
        f.write(b"%s\n%d %d\n255\n" % (b"P5" if grey else b"P6", w, h))
        data = pixels[:, :, 0] if grey else pixels
        f.write(np.ascontiguousarray(data, dtype=np.uint8).tobytes())


def coded(args, source, tile, q, work):
    """The decoded pixels (float) and the bits of one encode."""
    coded_path = os.path.join(work, "s.msic")
    decoded = os.path.join(work, "s.png")
    cmd = [args.msic, "encode", source, coded_path, "--quality", str(q), "--tile-size", str(tile)]
    if args.effort is not None:
        cmd += ["--effort", str(args.effort)]
    subprocess.run(cmd, check=True)
    subprocess.run([args.msic, "decode", coded_path, decoded], check=True)
    return read_image(decoded).astype(np.float64), os.path.getsize(coded_path) * 8


def step_errors(original, decoded):
    """Squared error (mean over RGB) of the step between each pixel and the
    one to its left (axis 1) or above it (axis 0), stored at the pixel;
    zero in the first column or row."""
    out = []
    for axis in (1, 0):
        d = np.diff(decoded - original, axis=axis)
        e = np.zeros(original.shape[:2])
        if axis == 1:
            e[:, 1:] = (d ** 2).mean(axis=2)
        else:
            e[1:, :] = (d ** 2).mean(axis=2)
        out.append(e)
    return out


def border_steps(h, w, tile, offset):
    """Where a step crosses a border of the grid whose tiles start at
    offset + k * tile: (columns, rows) as masks over the pixel after it."""
    y, x = np.mgrid[0:h, 0:w]
    across_x = (x > offset) & ((x - offset) % tile == 0)
    across_y = (y > offset) & ((y - offset) % tile == 0)
    return across_x, across_y


def shifted_sums(args, source, original, decoded, tile, q, work):
    """Against one more encode with the grid moved by about half a tile:
    the squared error summed over the pixels 0-3 from a border and over the
    same pixels away from borders, and the same two sums for the step
    across a border (all zero where no pixel qualifies)."""
    o = max(kGrid, tile // 2 // kGrid * kGrid)
    h, w = decoded.shape[:2]
    zeros = np.zeros(4), np.zeros(4), 0.0, 0.0
    if h - o <= 2 * kAway or w - o <= 2 * kAway:
        return zeros
    d_n = border_distance(h, w, tile)
    d_s = np.full((h, w), 1 << 30)
    d_s[o:, o:] = border_distance(h - o, w - o, tile)
    y, x = np.mgrid[0:h, 0:w]
    valid = (y >= o + kAway) & (x >= o + kAway) & (y < h - kAway) & (x < w - kAway)
    if not (valid & ((d_n == 0) | (d_s == 0))).any():
        return zeros  # no border in either grid
    crop = os.path.join(work, "shifted.pnm")
    grey = int(subprocess.check_output(["vipsheader", "-f", "bands", source])) in (1, 2)
    write_pnm(crop, original[o:, o:], grey)
    shifted = original.copy()  # outside the crop: no error, and masked out below
    shifted[o:, o:] = coded(args, crop, tile, q, work)[0]
    e_n = ((original - decoded) ** 2).mean(axis=2)
    e_s = ((original - shifted) ** 2).mean(axis=2)
    near, far = np.zeros(4), np.zeros(4)
    for k in range(4):
        at_n = valid & (d_n == k) & (d_s >= kAway)   # k from a border in the normal grid only
        at_s = valid & (d_s == k) & (d_n >= kAway)   # k from a border in the shifted grid only
        near[k] = e_n[at_n].sum() + e_s[at_s].sum()
        far[k] = e_s[at_n].sum() + e_n[at_s].sum()
    steps_n, steps_s = step_errors(original, decoded), step_errors(original, shifted)
    step_near = step_far = 0.0
    for axis in range(2):
        at_n = valid & border_steps(h, w, tile, 0)[axis] & (d_s >= kAway)
        at_s = valid & border_steps(h, w, tile, o)[axis] & (d_n >= kAway)
        step_near += steps_n[axis][at_n].sum() + steps_s[axis][at_s].sum()
        step_far += steps_s[axis][at_n].sum() + steps_n[axis][at_s].sum()
    return near, far, step_near, step_far


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("msic")
    ap.add_argument("images", nargs="+")
    ap.add_argument("--tile-sizes", default="512,256,128")
    ap.add_argument("--qualities", default="0,20,50")
    ap.add_argument("--effort", type=int, default=None, help="default: the encoder's")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        originals = {p: read_image(p).astype(np.float64) for p in args.images}
        for tile in [int(t) for t in args.tile_sizes.split(",")]:
            for q in [int(v) for v in args.qualities.split(",")]:
                band, rest, bits, pixels = [], [], 0, 0
                near, far = np.zeros(4), np.zeros(4)
                step_near = step_far = 0.0
                for p in args.images:
                    a = originals[p]
                    decoded, b = coded(args, p, tile, q, work)
                    e = ((a - decoded) ** 2).mean(axis=2)
                    d = border_distance(*e.shape, tile)
                    if (d == 0).any():  # an image within one tile has no border
                        band.append(e[d == 0].mean())
                        rest.append(e[d > 0].mean())
                    bits += b
                    pixels += e.size
                    n, f, sn, sf = shifted_sums(args, p, a, decoded, tile, q, work)
                    near += n
                    far += f
                    step_near += sn
                    step_far += sf
                same = near / np.where(far > 0, far, np.nan)
                if not band:
                    band, rest = [np.nan], [np.nan]
                print("tile %d, q%d: %.3f bpp, MSE at tile borders %.2f, elsewhere %.2f, ratio %.3f; "
                      "against the same pixels away from a border, at distance 0-3: %s, the step across it: %.3f"
                      % (tile, q, bits / pixels, np.mean(band), np.mean(rest), np.mean(band) / np.mean(rest),
                         " ".join("%.3f" % v for v in same), step_near / step_far if step_far > 0 else float("nan")),
                      flush=True)


if __name__ == "__main__":
    main()
