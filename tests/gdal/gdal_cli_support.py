"""Helpers shared by the tests of the MSIC GDAL driver through the real GDAL
programs, the GDAL Python bindings and rasterio (gdal_cli_*_test.py).

Each test file is run by ctest (tests/gdal/CMakeLists.txt), one case per
invocation:
    gdal_cli_<topic>_test.py <case>
Environment (set by ctest): GDAL_DRIVER_PATH (the plugin built in the tree),
MSIC_TEST_DATA (tests/data), MSIC_TEST_WORK (a scratch folder for the case)
and a few paths for the install cases. Exit status 77 means skipped.
"""

import json
import math
import os
import shutil
import subprocess
import sys
import time

SKIP = 77

DATA = os.environ.get("MSIC_TEST_DATA", "")
WORK = os.environ.get("MSIC_TEST_WORK", "")
GDAL_TRANSLATE = os.environ.get("GDAL_TRANSLATE", "gdal_translate")
GDALINFO = os.environ.get("GDALINFO", "gdalinfo")

# kodim23.png is 768 x 512, RGB. 1 m pixels in UTM zone 33N.
ULLR = ["500000", "4600000", "500768", "4599488"]
EPSG = "EPSG:32633"


class Skip(Exception):
    pass


def fail(msg):
    raise AssertionError(msg)


def check(cond, msg):
    if not cond:
        fail(msg)


def run(args, env=None, expect_ok=True, timeout=600):
    """Runs a program; returns the CompletedProcess."""
    full_env = dict(os.environ)
    if env:
        for k, v in env.items():
            if v is None:
                full_env.pop(k, None)
            else:
                full_env[k] = v
    t0 = time.monotonic()
    p = subprocess.run(args, capture_output=True, text=True, env=full_env,
                       timeout=timeout)
    p.elapsed = time.monotonic() - t0
    if expect_ok and p.returncode != 0:
        fail("%s failed (%d):\nstdout:\n%s\nstderr:\n%s" %
             (" ".join(args), p.returncode, p.stdout, p.stderr))
    return p


def import_gdal():
    try:
        from osgeo import gdal, osr  # noqa: F401
        import numpy  # noqa: F401
    except ImportError as e:
        raise Skip("python3-gdal / numpy not importable by %s: %s" %
                   (sys.executable, e))
    gdal.UseExceptions()
    gdal.AllRegister()
    if gdal.GetDriverByName("MSIC") is None:
        fail("the MSIC driver is not registered (GDAL_DRIVER_PATH=%s)" %
             os.environ.get("GDAL_DRIVER_PATH"))
    return gdal


def read_array(path):
    """All bands as a (bands, rows, cols) uint8 array."""
    gdal = import_gdal()
    ds = gdal.Open(path)
    a = ds.ReadAsArray()
    if a.ndim == 2:
        a = a[None, :, :]
    return a


def psnr(a, b):
    import numpy as np
    check(a.shape == b.shape, "shapes differ: %s vs %s" % (a.shape, b.shape))
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    if mse == 0:
        return float("inf")
    return 10 * math.log10(255.0 ** 2 / mse)


def gdalinfo_json(path, env=None):
    return json.loads(run([GDALINFO, "-json", path], env=env).stdout)


def kodim():
    path = os.path.join(DATA, "kodim23.png")
    check(os.path.isfile(path), "missing test image %s" % path)
    return path


def make_georef_tif(name="src.tif", extra=()):
    """The georeferenced GeoTIFF the tests start from."""
    out = os.path.join(WORK, name)
    run([GDAL_TRANSLATE, "-q", "-of", "GTiff", "-a_srs", EPSG, "-a_ullr"] +
        ULLR + ["-a_nodata", "0", "-mo", "MSIC_TEST=hello world"] +
        list(extra) + [kodim(), out])
    return out


def to_msic(src, dst, options=(), env=None, expect_ok=True):
    return run([GDAL_TRANSLATE, "-of", "MSIC"] + list(options) + [src, dst],
               env=env, expect_ok=expect_ok)


def make_big_source(size):
    """A size x size RGB VRT: kodim23 upsampled, mostly smooth."""
    vrt = os.path.join(WORK, "big.vrt")
    run([GDAL_TRANSLATE, "-q", "-of", "VRT", "-outsize", str(size), str(size),
         "-r", "bilinear", "-a_srs", EPSG, "-a_ullr", "0", str(size),
         str(size), "0", kodim(), vrt])
    return vrt


def main(cases):
    """Runs the case named on the command line, from `cases` (name -> fn)."""
    if len(sys.argv) != 2 or sys.argv[1] not in cases:
        print("usage: %s {%s}" % (sys.argv[0], ",".join(sorted(cases))))
        return 2
    check(WORK, "MSIC_TEST_WORK is not set")
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    try:
        cases[sys.argv[1]]()
    except Skip as e:
        print("SKIPPED: %s" % e)
        return SKIP
    except AssertionError as e:
        print("FAILED: %s" % e)
        return 1
    print("OK")
    shutil.rmtree(WORK, ignore_errors=True)  # kept only when a case fails
    return 0
