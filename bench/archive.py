#!/usr/bin/python3
"""msic-archive against the README's xargs recipe, in one run, on the same
tree: files/s and MB/s (source bytes over wall-clock seconds, cluster start
included) with 1 and 2 workers / parallel processes, lossless.

  bench/archive.py [--kodak DIR] [--plugin DIR] [--keep]

The tree: the 24 Kodak images as uncompressed GeoTIFF (RGB, Byte) and, for
each, a single-band UInt16 GeoTIFF (its luminance x 200 plus the blue band:
smooth 16-bit data), in 6 folders. msic-archive also hashes, verifies and
writes its manifest; xargs only converts.
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def make_tree(gdal, np, kodak, root):
    total = 0
    for i, path in enumerate(kodak):
        folder = os.path.join(root, "site%d" % (i % 6))
        os.makedirs(folder, exist_ok=True)
        src = gdal.Open(path)
        rgb = os.path.join(folder, os.path.basename(path)[:-4] + ".tif")
        gdal.Translate(rgb, src, format="GTiff")
        a = src.ReadAsArray().astype(np.float64)
        lum = (0.299 * a[0] + 0.587 * a[1] + 0.114 * a[2]) * 200 + a[2]
        mem = gdal.GetDriverByName("MEM").Create("", src.RasterXSize, src.RasterYSize, 1, gdal.GDT_UInt16)
        mem.GetRasterBand(1).WriteArray(np.clip(lum, 0, 65535).astype(np.uint16))
        dem = os.path.join(folder, os.path.basename(path)[:-4] + "_u16.tif")
        gdal.GetDriverByName("GTiff").CreateCopy(dem, mem)
        total += os.path.getsize(rgb) + os.path.getsize(dem)
    return total


def timed(args, env=None):
    t = time.perf_counter()
    p = subprocess.run(args, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit("bench/archive.py: %s failed:\n%s%s" % (args[0], p.stdout, p.stderr))
    return seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kodak", default=os.path.join(ROOT, "..", "shared", "datasets", "kodak"))
    ap.add_argument("--plugin", default=os.path.join(ROOT, "build", "plugin-gdal", "gdalplugins"))
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args()
    os.environ["GDAL_DRIVER_PATH"] = os.path.abspath(args.plugin)
    import numpy as np
    from osgeo import gdal
    gdal.UseExceptions()
    kodak = sorted(glob.glob(os.path.join(args.kodak, "*.png")))
    if not kodak:
        sys.exit("bench/archive.py: no Kodak images in %s" % args.kodak)
    work = tempfile.mkdtemp(prefix="msic-archive-bench-")
    src = os.path.join(work, "src")
    total = make_tree(gdal, np, kodak, src)
    files = 2 * len(kodak)
    print("tree: %d files, %.1f MB (%s)" % (files, total / 1e6, src))
    archive = os.path.join(ROOT, "tools", "archive", "msic-archive")
    rows = []
    for n in (1, 2):
        dst = os.path.join(work, "archive%d" % n)
        s = timed([sys.executable, archive, src, dst, "--workers", str(n), "--lossless"])
        out = sum(os.path.getsize(p) for p in glob.glob(os.path.join(dst, "**", "*.msic"), recursive=True))
        rows.append(("msic-archive, %d worker%s" % (n, "s" if n > 1 else ""), s, out))
        dst = os.path.join(work, "xargs%d" % n)
        recipe = ("cd '%s' && find . -name '*.tif' -print0 | xargs -0 -P %d -I{} sh -c "
                  "'mkdir -p \"%s/$(dirname \"{}\")\" && gdal_translate -q -of MSIC -co LOSSLESS=YES "
                  "-co NUM_THREADS=1 \"{}\" \"%s/{}.msic\"'" % (src, n, dst, dst))
        s = timed(["sh", "-c", recipe])
        out = sum(os.path.getsize(p) for p in glob.glob(os.path.join(dst, "**", "*.msic"), recursive=True))
        rows.append(("xargs -P %d gdal_translate" % n, s, out))
    print("%-30s %8s %8s %8s %9s" % ("", "seconds", "files/s", "MB/s", "ratio"))
    for name, s, out in rows:
        print("%-30s %8.2f %8.2f %8.2f %9.2f" % (name, s, files / s, total / 1e6 / s, total / out))
    for n in (1, 2):
        a = [r for r in rows if r[0].startswith("msic-archive, %d" % n)][0]
        x = [r for r in rows if r[0].startswith("xargs -P %d" % n)][0]
        print("msic-archive / xargs throughput with %d: %.2f" % (n, x[1] / a[1]))
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
