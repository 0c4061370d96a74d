#!/usr/bin/python3
"""Exact and bounded-error coding (issue #14) against the classical codecs,
in one run, on real rasters that Debian packages ship and on the Kodak set.

  bench/exact.py [--rasters DIR] [--kodak DIR] [--plugin DIR] [--images N]

- Lossless: msic LOSSLESS=YES against PNG (GDAL, ZLEVEL=9), GTiff ZSTD
  (level 19, PREDICTOR=2, 3 for floats), JPEG 2000 lossless (JP2OpenJPEG,
  REVERSIBLE=YES) and JPEG XL lossless (cjxl -d 0 -e 7, where it takes the
  data: 1 or 3 bands of 8/16 bits).
- Bounded error e: msic MAX_Z_ERROR=e against GTiff LERC_ZSTD with the same
  MAX_Z_ERROR and JPEG-LS near-lossless NEAR=e (CharLS through ctypes:
  Debian ships the library but no tool; unsigned integers up to 16 bits,
  signed ones offset by 2^15).
- Lossy: on the 6-band Landsat scene, msic's MAX_Z_ERROR sweep against
  JPEG 2000 (JP2OpenJPEG QUALITY sweep), PSNR over all bands, BD-rate.

Every msic output is decoded and checked (exact, or within e); so are the
LERC and JPEG-LS outputs' errors reported. Sizes are file bytes, with the
.aux.xml side file where GDAL needs one to keep the georeferencing (PNG);
JPEG XL and JPEG-LS keep none (not counted). Bits per sample = 8 x bytes /
(width x height x bands). The rasters come from
bench/fetch_rasters.sh (run it first, or pass --rasters).
"""
import argparse
import ctypes
import ctypes.util
import glob
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

RASTERS = [
    ("L7_ETMs 6xByte", "usr/lib/R/site-library/stars/tif/L7_ETMs.tif"),
    ("cea Byte", "usr/lib/R/site-library/rgdal/pictures/cea.tif"),
    ("SP27GTIF Byte", "usr/lib/R/site-library/rgdal/pictures/SP27GTIF.TIF"),
    ("erdas_spnad83 Byte", "usr/lib/R/site-library/rgdal/pictures/erdas_spnad83.tif"),
    ("terra logo 3xByte", "usr/lib/R/site-library/terra/ex/logo.tif"),
    ("terra elev Int16", "usr/lib/R/site-library/terra/ex/elev.tif"),
    ("meuse Int16", "usr/lib/R/site-library/terra/ex/meuse.tif"),
    ("olinda DEM Float32", "usr/lib/R/site-library/stars/tif/olinda_dem_utm25s.tif"),
    ("rlogo 3xFloat32", "usr/lib/R/site-library/raster/external/rlogo.grd"),
]
INT_ERRORS = [1, 2, 4]
FLOAT_ERRORS = [0.01, 0.1, 1.0]  # in the data's unit (metres for the DEM)


def gdal_module(plugin_dir):
    os.environ["GDAL_DRIVER_PATH"] = plugin_dir
    os.environ["GDAL_PAM_ENABLED"] = "YES"  # side files are written, and counted
    from osgeo import gdal
    gdal.UseExceptions()
    gdal.AllRegister()
    if gdal.GetDriverByName("MSIC") is None:
        sys.exit("exact.py: no MSIC driver in %s (build first)" % plugin_dir)
    return gdal


def read(gdal, path):
    ds = gdal.Open(path)
    a = ds.ReadAsArray()
    return a.reshape((ds.RasterCount, ds.RasterYSize, ds.RasterXSize))


def translate(gdal, src, dst, fmt, options):
    """Bytes written (with the .aux.xml side file GDAL writes for what the
    format cannot hold, such as PNG's georeferencing) and seconds."""
    side = dst + ".aux.xml"
    if os.path.exists(side):
        os.unlink(side)
    t = time.perf_counter()
    ds = gdal.Translate(dst, src, format=fmt, creationOptions=options)
    ds = None  # closed: the side file is written now
    seconds = time.perf_counter() - t
    return os.path.getsize(dst) + (os.path.getsize(side) if os.path.exists(side) else 0), seconds


# ------------------------------------------------------------- JPEG-LS
class CharLS:
    """CharLS 2.x's C API through ctypes (libcharls.so.2)."""

    class FrameInfo(ctypes.Structure):
        _fields_ = [("width", ctypes.c_uint32), ("height", ctypes.c_uint32),
                    ("bits_per_sample", ctypes.c_int32), ("component_count", ctypes.c_int32)]

    def __init__(self):
        name = ctypes.util.find_library("charls") or "libcharls.so.2"
        self.lib = ctypes.CDLL(name)
        self.lib.charls_jpegls_encoder_create.restype = ctypes.c_void_p
        for f in ("set_frame_info", "set_near_lossless", "set_interleave_mode",
                  "get_estimated_destination_size", "set_destination_buffer",
                  "encode_from_buffer", "get_bytes_written", "destroy"):
            getattr(self.lib, "charls_jpegls_encoder_" + f).argtypes = None

    def encode(self, planes, near):
        """planes: bands x H x W unsigned integers < 2^16. Returns bytes."""
        bands, h, w = planes.shape
        bits = max(2, int(planes.max()).bit_length())
        data = np.ascontiguousarray(planes.astype(np.uint8 if bits <= 8 else np.uint16))
        lib = self.lib
        enc = ctypes.c_void_p(lib.charls_jpegls_encoder_create())
        try:
            fi = CharLS.FrameInfo(w, h, bits, bands)
            def ok(rc, what):
                if rc != 0:
                    raise RuntimeError("CharLS %s: error %d" % (what, rc))
            ok(lib.charls_jpegls_encoder_set_frame_info(enc, ctypes.byref(fi)), "frame info")
            ok(lib.charls_jpegls_encoder_set_near_lossless(enc, ctypes.c_int32(near)), "near")
            ok(lib.charls_jpegls_encoder_set_interleave_mode(enc, ctypes.c_int(0)), "interleave")
            size = ctypes.c_size_t()
            ok(lib.charls_jpegls_encoder_get_estimated_destination_size(enc, ctypes.byref(size)), "size")
            out = ctypes.create_string_buffer(size.value)
            ok(lib.charls_jpegls_encoder_set_destination_buffer(enc, out, size), "buffer")
            ok(lib.charls_jpegls_encoder_encode_from_buffer(
                enc, data.ctypes.data_as(ctypes.c_void_p), ctypes.c_size_t(data.nbytes),
                ctypes.c_uint32(0)), "encode")
            written = ctypes.c_size_t()
            ok(lib.charls_jpegls_encoder_get_bytes_written(enc, ctypes.byref(written)), "written")
            return written.value
        finally:
            lib.charls_jpegls_encoder_destroy(enc)


def jpegls_size(charls, planes, near):
    if charls is None or planes.dtype.kind == "f" or planes.dtype.itemsize > 2:
        return None
    p = planes.astype(np.int64)
    if planes.dtype.kind == "i":
        p = p + 32768
    return charls.encode(p, near)


# ------------------------------------------------------------- codecs
def lossless_sizes(gdal, src, planes, work, png_source=None):
    """Bytes (and seconds) of each lossless codec; None where it does not apply."""
    kind, size = planes.dtype.kind, planes.dtype.itemsize
    bands = planes.shape[0]
    out = {}
    n, t = translate(gdal, src, os.path.join(work, "x.msic"), "MSIC", ["LOSSLESS=YES"])
    back = read(gdal, os.path.join(work, "x.msic"))
    if not np.array_equal(back.view(np.uint8), planes.view(np.uint8)):
        sys.exit("exact.py: msic lossless is not exact on %s" % src)
    out["msic"] = (n, t)
    if kind in "u" and size <= 2 and bands <= 4:
        out["PNG"] = translate(gdal, src, os.path.join(work, "x.png"), "PNG", ["ZLEVEL=9"])
    out["ZSTD"] = translate(gdal, src, os.path.join(work, "x.tif"), "GTiff",
                            ["COMPRESS=ZSTD", "ZSTD_LEVEL=19",
                             "PREDICTOR=%d" % (3 if kind == "f" else 2)])
    if kind != "f":
        out["JPEG 2000"] = translate(gdal, src, os.path.join(work, "x.jp2"), "JP2OpenJPEG",
                                     ["REVERSIBLE=YES", "QUALITY=100"])
    if kind == "u" and size <= 2 and bands in (1, 3):
        png = png_source or os.path.join(work, "x.png")
        if not os.path.exists(png):
            gdal.Translate(png, src, format="PNG")
        jxl = os.path.join(work, "x.jxl")
        t = time.perf_counter()
        subprocess.run(["cjxl", "-d", "0", "-e", "7", png, jxl], check=True, capture_output=True)
        out["JPEG XL"] = (os.path.getsize(jxl), time.perf_counter() - t)
    return out


def bounded_sizes(gdal, src, planes, work, e, charls):
    out = {}
    msic = os.path.join(work, "e.msic")
    out["msic"] = translate(gdal, src, msic, "MSIC", ["MAX_Z_ERROR=%g" % e])[0]
    err = np.abs(read(gdal, msic).astype(np.float64) - planes.astype(np.float64))
    worst = np.nanmax(err) if err.size else 0
    if worst > e:
        sys.exit("exact.py: msic MAX_Z_ERROR=%g gave an error of %g on %s" % (e, worst, src))
    lerc = os.path.join(work, "e.tif")
    out["LERC_ZSTD"] = translate(gdal, src, lerc, "GTiff",
                                 ["COMPRESS=LERC_ZSTD", "MAX_Z_ERROR=%g" % e, "ZSTD_LEVEL=19"])[0]
    if planes.dtype.kind != "f":
        out["JPEG-LS"] = jpegls_size(charls, planes, int(e))
    return out


def psnr(a, b, peak):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 99.0 if mse == 0 else 10 * np.log10(peak * peak / mse)


def lossy_curves(gdal, src, planes, work):
    samples = planes.size
    msic, j2k = [], []
    for e in (1, 2, 3, 4, 6, 8, 12, 16, 24):
        path = os.path.join(work, "l.msic")
        n = translate(gdal, src, path, "MSIC", ["MAX_Z_ERROR=%d" % e])[0]
        msic.append((8.0 * n / samples, psnr(planes, read(gdal, path), 255)))
    for q in (2, 3, 5, 8, 12, 18, 25, 35, 50):
        path = os.path.join(work, "l.jp2")
        n = translate(gdal, src, path, "JP2OpenJPEG", ["QUALITY=%d" % q, "REVERSIBLE=NO"])[0]
        j2k.append((8.0 * n / samples, psnr(planes, read(gdal, path), 255)))
    return msic, j2k


def table(title, rows, columns):
    print("\n" + title)
    print("%-22s" % "" + "".join("%13s" % c for c in columns))
    for name, values in rows:
        print("%-22s" % name + "".join("%13s" % v for v in values))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rasters", help="root of the unpacked packages (bench/fetch_rasters.sh)")
    ap.add_argument("--kodak", default=os.path.join(ROOT, "..", "shared", "datasets", "kodak"))
    ap.add_argument("--plugin", default=os.path.join(ROOT, "build", "plugin-gdal", "gdalplugins"))
    ap.add_argument("--images", type=int, default=24, help="Kodak images to use")
    args = ap.parse_args()
    root = args.rasters or subprocess.run([os.path.join(HERE, "fetch_rasters.sh")], check=True,
                                          capture_output=True, text=True).stdout.strip()
    gdal = gdal_module(os.path.abspath(args.plugin))
    try:
        charls = CharLS()
    except OSError:
        charls = None
        print("(CharLS not found: no JPEG-LS column)")
    from rd import bd_rate

    work = tempfile.mkdtemp(prefix="msic-exact-")
    lossless_codecs = ["msic", "PNG", "ZSTD", "JPEG 2000", "JPEG XL"]
    bounded_codecs = ["msic", "LERC_ZSTD", "JPEG-LS"]
    lossless_rows, bounded_rows, verdicts, jls_ratios = [], [], [], []

    datasets = []
    for name, rel in RASTERS:
        path = os.path.join(root, rel)
        if os.path.exists(path):
            datasets.append((name, [path]))
        else:
            print("(missing %s: %s)" % (name, path))
    kodak = sorted(glob.glob(os.path.join(args.kodak, "*.png")))[: args.images]
    if kodak:
        datasets.append(("Kodak %d x RGB" % len(kodak), kodak))

    for name, paths in datasets:
        totals, samples = {}, 0
        for path in paths:
            planes = read(gdal, path)
            samples += planes.size
            sizes = lossless_sizes(gdal, path, planes, work, path if path.endswith(".png") else None)
            for codec in lossless_codecs:
                if codec in sizes and totals.get(codec, 0) is not None:
                    n, t = sizes[codec]
                    a, b = totals.get(codec, (0, 0))
                    totals[codec] = (a + n, b + t)
                else:
                    totals[codec] = None
            if len(paths) == 1:
                for e in (FLOAT_ERRORS if planes.dtype.kind == "f" else INT_ERRORS):
                    b = bounded_sizes(gdal, path, planes, work, e, charls)
                    bounded_rows.append(("%s e=%g" % (name[:14], e),
                                         ["%.3f" % (8.0 * b[c] / planes.size) if b.get(c) else "-"
                                          for c in bounded_codecs]))
                    verdicts.append(("bounded %s e=%g: beats LERC" % (name, e), b["msic"] < b["LERC_ZSTD"]))
                    if b.get("JPEG-LS"):
                        jls_ratios.append(b["msic"] / b["JPEG-LS"])
        lossless_rows.append((name, ["%.3f" % (8.0 * totals[c][0] / samples) if totals.get(c) else "-"
                                     for c in lossless_codecs]))
        classical = [totals[c][0] for c in ("PNG", "ZSTD", "JPEG 2000") if totals.get(c)]
        verdicts.append(("lossless %s: beats PNG/ZSTD/JPEG 2000" % name,
                         all(totals["msic"][0] < p for p in classical)))
        if totals.get("JPEG XL"):
            ratio = totals["msic"][0] / totals["JPEG XL"][0]
            print("%s: msic lossless / JPEG XL lossless = %.3f; encode seconds msic %.2f, JPEG XL %.2f"
                  % (name, ratio, totals["msic"][1], totals["JPEG XL"][1]))

    table("Lossless, bits per sample", lossless_rows, lossless_codecs)
    table("Bounded error (every sample within e), bits per sample", bounded_rows, bounded_codecs)

    l7 = os.path.join(root, RASTERS[0][1])
    if os.path.exists(l7):
        planes = read(gdal, l7)
        msic, j2k = lossy_curves(gdal, l7, planes, work)
        print("\nLossy on %s (PSNR over all 6 bands, peak 255)" % RASTERS[0][0])
        print("  msic MAX_Z_ERROR sweep: " + ", ".join("%.3f bps %.2f dB" % p for p in msic))
        print("  JPEG 2000 QUALITY sweep: " + ", ".join("%.3f bps %.2f dB" % p for p in j2k))
        bd, lo, hi = bd_rate(j2k, msic)
        print("  BD-rate of msic against JPEG 2000: %+.1f%% (PSNR %.1f .. %.1f dB)" % (bd, lo, hi))
        verdicts.append(("lossy L7 BD-rate vs JPEG 2000 < 0", bd < 0))

    if jls_ratios:
        print("\nmsic / JPEG-LS at equal bound: %.3f .. %.3f (geometric mean %.3f over %d cases)"
              % (min(jls_ratios), max(jls_ratios), float(np.exp(np.mean(np.log(jls_ratios)))), len(jls_ratios)))
    print("\nTargets:")
    for what, ok in verdicts:
        print("  %-60s %s" % (what, "yes" if ok else "NO"))


if __name__ == "__main__":
    main()
