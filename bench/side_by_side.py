#!/usr/bin/python3
"""A side-by-side crop: original | msic | JPEG at (about) the same file size.

  bench/side_by_side.py IMAGE --quality Q --crop X,Y,W,H --out side.png [--msic PATH]

Encodes IMAGE with msic at quality Q, then finds the cjpeg quality whose
file size is closest to it, and writes the three crops next to each other.
Prints both sizes and PSNRs.
"""
import argparse
import os
import subprocess
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pixels(path, t):
    v = os.path.join(t, "p.v")
    raw = os.path.join(t, "p.raw")
    subprocess.run(["vips", "copy", path, v], check=True)
    subprocess.run(["vips", "rawsave", v, raw], check=True)
    w = int(subprocess.check_output(["vipsheader", "-f", "width", v]))
    h = int(subprocess.check_output(["vipsheader", "-f", "height", v]))
    return np.fromfile(raw, dtype=np.uint8).reshape(h, w, -1)[:, :, :3].astype(np.float64)


def psnr(a, b):
    return 10 * np.log10(255.0 ** 2 / np.mean((a - b) ** 2))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("image")
    ap.add_argument("--quality", type=float, default=20)
    ap.add_argument("--crop", default="200,150,256,256")
    ap.add_argument("--out", default="side.png")
    ap.add_argument("--msic", default=os.path.join(ROOT, "build", "tools", "msic", "msic"))
    a = ap.parse_args()
    x, y, w, h = (int(v) for v in a.crop.split(","))
    with tempfile.TemporaryDirectory() as t:
        m, mp = os.path.join(t, "a.msic"), os.path.join(t, "a.png")
        subprocess.run([a.msic, "encode", a.image, m, "--quality", str(a.quality)], check=True)
        subprocess.run([a.msic, "decode", m, mp], check=True)
        target = os.path.getsize(m)
        ppm = os.path.join(t, "src.ppm")
        subprocess.run(["vips", "copy", a.image, ppm], check=True)
        best = None
        for q in range(1, 101):
            j = os.path.join(t, "q%d.jpg" % q)
            subprocess.run(["cjpeg", "-quality", str(q), "-optimize", "-outfile", j, ppm], check=True,
                           stderr=subprocess.DEVNULL)
            d = abs(os.path.getsize(j) - target)
            if best is None or d < best[0]:
                best = (d, q, j)
        _, jq, jpg = best
        jp = os.path.join(t, "j.png")
        subprocess.run(["vips", "copy", jpg, jp], check=True)
        orig = pixels(a.image, t)
        print("msic quality %.1f: %d bytes, %.2f dB;  JPEG quality %d: %d bytes, %.2f dB" % (
            a.quality, target, psnr(orig, pixels(mp, t)), jq, os.path.getsize(jpg), psnr(orig, pixels(jp, t))))
        crops = []
        for i, src in enumerate([a.image, mp, jp]):
            c = os.path.join(t, "c%d.v" % i)
            subprocess.run(["vips", "extract_area", src, c, str(x), str(y), str(w), str(h)], check=True)
            crops.append(c)
        subprocess.run(["vips", "arrayjoin", " ".join(crops), a.out, "--shim", "8", "--background", "255"],
                       check=True)
        print("wrote %s: original | msic | JPEG" % a.out)


if __name__ == "__main__":
    main()
