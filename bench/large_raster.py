#!/usr/bin/python3
"""A raster of any size (issue #15), in one run: MSIC against GTiff JPEG
with internal overviews (COG) and JPEG 2000 (OpenJPEG) on the same source.

  bench/large_raster.py [--size 40000] [--encoders gdal,cli,vips] [--keep]

The source: the 18 landscape Kodak photographs, each upsampled (cubic) to
4000 x 2667 and tiled into a mosaic SIZE x SIZE, 3 x Byte, kept as an
uncompressed tiled GeoTIFF in ~/.cache/msic-bench/large (4.8 GB at 40000).

Measured, each in a fresh process (wall seconds, peak RSS, and bytes read
from files, `rchar`, against the file's size):
- encode: gdal_translate -of MSIC, `msic encode` and `vips copy` (each
  streaming the source; GDAL_CACHEMAX=256 MB), gdal_translate -of COG
  (JPEG, Q 85) and -of JP2OpenJPEG (lossy, with its resolution levels);
- a 512 x 512 window: gdal_translate -srcwin (whole process), and warm in
  one process (a second window after a first);
- previews at 1/32 and 1/256: gdal_translate -outsize and vipsthumbnail
  (MSIC through its shrink-on-load option, `file.msic[shrink=N]`).
Targets (issue #15): encode under 1 GB; window < 0.3 s warm; each preview
< 2 s and < 300 MB, reading under 10% of the file.
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CACHE = os.path.expanduser("~/.cache/msic-bench/large")
CELL_W, CELL_H = 4000, 2667


def read_chars():
    """Bytes this process and its reaped children have read (/proc)."""
    with open("/proc/self/io") as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    return 0


def run(args, env=None):
    """Runs args in a fresh process; returns (seconds, its peak RSS in MiB,
    bytes it read, its stdout). Exits on failure."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    before = read_chars()
    # Peak RSS through /usr/bin/time: a child forked from this Python would
    # count this Python's pages until it execs.
    with tempfile.NamedTemporaryFile() as rss:
        t = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name] + args, capture_output=True, env=full_env)
        seconds = time.perf_counter() - t
        if p.returncode != 0:
            sys.exit("bench/large_raster.py: %s failed (%d):\n%s" % (" ".join(args), p.returncode,
                                                                   p.stderr.decode(errors="replace")))
        peak_kib = int(open(rss.name).read().split()[-1])
    return seconds, peak_kib / 1024.0, read_chars() - before, p.stdout.decode()


def make_source(size, kodak):
    os.makedirs(CACHE, exist_ok=True)
    tif = os.path.join(CACHE, "mosaic-%d.tif" % size)
    if os.path.exists(tif):
        return tif
    from osgeo import gdal
    photos = [p for p in sorted(glob.glob(os.path.join(kodak, "*.png"))) if gdal.Open(p).RasterXSize == 768]
    if not photos:
        sys.exit("bench/large_raster.py: no Kodak images in %s" % kodak)
    cols, rows = -(-size // CELL_W), -(-size // CELL_H)
    bands = []
    for b in range(1, 4):
        sources = []
        for r in range(rows):
            for c in range(cols):
                photo = photos[(r * cols + c) % len(photos)]
                sources.append(
                    '<ComplexSource resampling="cubic"><SourceFilename relativeToVRT="0">%s</SourceFilename>'
                    '<SourceBand>%d</SourceBand><SrcRect xOff="0" yOff="0" xSize="768" ySize="512"/>'
                    '<DstRect xOff="%d" yOff="%d" xSize="%d" ySize="%d"/></ComplexSource>'
                    % (photo, b, c * CELL_W, r * CELL_H, CELL_W, CELL_H))
        bands.append('<VRTRasterBand dataType="Byte" band="%d"><ColorInterp>%s</ColorInterp>%s</VRTRasterBand>'
                     % (b, ("Red", "Green", "Blue")[b - 1], "".join(sources)))
    vrt = os.path.join(CACHE, "mosaic-%d.vrt" % size)
    with open(vrt, "w") as f:
        f.write('<VRTDataset rasterXSize="%d" rasterYSize="%d">%s</VRTDataset>' % (size, size, "".join(bands)))
    print("making the %d x %d source (once; cached in %s) ..." % (size, size, CACHE), flush=True)
    run(["gdal_translate", "-q", "-of", "GTiff", "-co", "TILED=YES", "-co", "BIGTIFF=YES", vrt, tif + ".tmp"],
        env={"GDAL_CACHEMAX": "512"})
    os.rename(tif + ".tmp", tif)
    return tif


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=40000)
    ap.add_argument("--encoders", default="gdal,cli,vips", help="MSIC encoders to run (the first file is read)")
    ap.add_argument("--kodak", default=os.path.join(ROOT, "..", "shared", "datasets", "kodak"))
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--quality", type=float, default=75)
    ap.add_argument("--keep", action="store_true", help="keep the encoded files")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    os.environ["GDAL_DRIVER_PATH"] = os.path.join(build, "plugin-gdal", "gdalplugins")
    os.environ["VIPSHOME"] = os.path.join(build, "plugin-vips", "vipshome")
    os.environ["LD_LIBRARY_PATH"] = os.path.join(build, "codec-core")
    msic_cli = os.path.join(build, "tools", "msic", "msic")
    gdal_env = {"GDAL_CACHEMAX": "256"}

    src = make_source(args.size, os.path.abspath(args.kodak))
    work = tempfile.mkdtemp(prefix="msic-large-", dir=os.path.dirname(src))
    n = args.size
    results = {"size": n, "source_bytes": os.path.getsize(src), "encode": {}, "read": {}}
    files = {}
    try:
        # ---------------------------------------------------------- encode
        encoders = []
        for e in args.encoders.split(","):
            out = os.path.join(work, "msic-%s.msic" % e)
            if e == "gdal":
                cmd = ["gdal_translate", "-q", "-of", "MSIC", "-co", "QUALITY=%g" % args.quality, src, out]
            elif e == "cli":
                cmd = [msic_cli, "encode", src, out, "--quality", "%g" % args.quality]
            elif e == "vips":
                cmd = ["vips", "copy", src, "%s[Q=%d]" % (out, int(args.quality))]
            else:
                sys.exit("unknown encoder %s" % e)
            encoders.append(("msic (%s)" % e, out, cmd))
        encoders.append(("COG JPEG", os.path.join(work, "cog.tif"),
                         ["gdal_translate", "-q", "-of", "COG", "-co", "COMPRESS=JPEG", "-co", "QUALITY=85",
                          "-co", "NUM_THREADS=ALL_CPUS", src, os.path.join(work, "cog.tif")]))
        encoders.append(("JPEG 2000", os.path.join(work, "j2k.jp2"),
                         ["gdal_translate", "-q", "-of", "JP2OpenJPEG", "-co", "QUALITY=10",
                          "-co", "REVERSIBLE=NO", "-co", "NUM_THREADS=ALL_CPUS", src, os.path.join(work, "j2k.jp2")]))
        for name, out, cmd in encoders:
            print("encoding: %s ..." % name, flush=True)
            seconds, rss, _, _ = run(cmd, env=gdal_env)
            results["encode"][name] = {"seconds": round(seconds, 1), "peak_rss_mib": round(rss),
                                       "bytes": os.path.getsize(out),
                                       "bpp": round(8.0 * os.path.getsize(out) / (n * n), 4)}
            print("  %.1f s, %.0f MiB peak, %d bytes" % (seconds, rss, os.path.getsize(out)), flush=True)
            if name.startswith("msic") and "msic" not in files:
                files["msic"] = out
        files["COG JPEG"] = os.path.join(work, "cog.tif")
        files["JPEG 2000"] = os.path.join(work, "j2k.jp2")

        # ------------------------------------------------------------ read
        x, y = n // 2 + 100, n // 3 + 100
        for name, path in files.items():
            size = os.path.getsize(path)
            r = {}
            t, rss, read, _ = run(["gdal_translate", "-q", "-srcwin", str(x), str(y), "512", "512",
                                            path, os.path.join(work, "window.tif")], env=gdal_env)
            r["window_process_s"] = round(t, 3)
            # Warm: a second window in the same process.
            probe = ("import time, sys\nfrom osgeo import gdal\nds = gdal.Open(sys.argv[1])\n"
                     "ds.ReadRaster(%d, %d, 512, 512)\nt = time.perf_counter()\n"
                     "ds.ReadRaster(%d, %d, 512, 512)\nprint(time.perf_counter() - t)\n" % (x, y, x + 1536, y + 1536))
            _, _, _, out = run(["/usr/bin/python3", "-c", probe, path], env=gdal_env)
            r["window_warm_s"] = round(float(out.strip().splitlines()[-1]), 3)
            for factor in (32, 256):
                side = max(1, n // factor)
                t, rss, read, _ = run(["gdal_translate", "-q", "-outsize", str(side), str(side),
                                                path, os.path.join(work, "preview.tif")], env=gdal_env)
                r["gdal_1/%d" % factor] = {"s": round(t, 2), "rss_mib": round(rss), "read_pct": round(100.0 * read / size, 2)}
                target = path + ("[shrink=%d]" % factor if path.endswith(".msic") else "")
                t, rss, read, _ = run(["vipsthumbnail", target, "-s", str(side),
                                                "-o", os.path.join(work, "thumb.png")])
                r["vipsthumbnail_1/%d" % factor] = {"s": round(t, 2), "rss_mib": round(rss),
                                                    "read_pct": round(100.0 * read / size, 2)}
            results["read"][name] = r
            print("%s: %s" % (name, json.dumps(r)), flush=True)
        # What the reduced levels cost: their tiles' bytes against the rest.
        _, _, _, info = run([msic_cli, "info", "--json", files["msic"]])
        levels = json.loads(info)["levels"]
        level_bytes = sum(l["bytes"] for l in levels)
        results["msic_levels"] = levels
        results["levels_cost_pct"] = round(100.0 * level_bytes / (os.path.getsize(files["msic"]) - level_bytes), 2)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
