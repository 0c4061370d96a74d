#!/usr/bin/env python3
"""Tests of the MSIC GDAL driver through the real GDAL programs, the GDAL
Python bindings and rasterio.

Run by ctest (tests/gdal/CMakeLists.txt), one case per invocation:
    gdal_cli_test.py <case>
Environment (set by ctest): GDAL_DRIVER_PATH (the plugin built in the tree),
MSIC_TEST_DATA (tests/data), MSIC_TEST_WORK (a scratch folder for the case)
and a few paths for the install cases. Exit status 77 means skipped.
"""

import http.server
import json
import math
import os
import re
import shutil
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

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


DEBUG_TILES = re.compile(r"MSIC: (.*): (\d+) of (\d+) tiles decoded")


def tiles_decoded(stderr, name):
    """Tiles decoded for the dataset `name` (basename), from CPL_DEBUG."""
    counts = [(int(m.group(2)), int(m.group(3)))
              for m in DEBUG_TILES.finditer(stderr)
              if os.path.basename(m.group(1)) == name]
    check(counts, "no MSIC tile count for %s in the debug output:\n%s" %
          (name, stderr[-3000:]))
    return sum(c for c, _ in counts), counts[0][1]


# --------------------------------------------------------------------- cases

def case_format_doc():
    p = run([GDALINFO, "--format", "MSIC"])
    out = p.stdout
    for needle in ["Short Name: MSIC", "Extension: msic",
                   "Supports: Raster", "Supports: Open()",
                   "Supports: CreateCopy()", "Supports: Virtual IO",
                   "Help Topic: ", "Creation Datatypes: Byte",
                   "<CreationOptionList>", "<OpenOptionList>"]:
        check(needle in out,
              "gdalinfo --format MSIC lacks %r:\n%s" % (needle, out))
    check("Supports: Create()" not in out, "MSIC must not claim Create()")
    # The option lists are well-formed XML with the documented options.
    import xml.etree.ElementTree as ET

    def options(tag):
        begin, end = "<%s>" % tag, "</%s>" % tag
        xml = out[out.index(begin):out.index(end) + len(end)]
        return {o.get("name"): o for o in ET.fromstring(xml)}

    create = options("CreationOptionList")
    check(set(create) >= {"QUALITY", "TILE_SIZE", "NUM_THREADS"},
          "creation options %s" % sorted(create))
    check(create["QUALITY"].get("default") == "75", "QUALITY default")
    check(create["QUALITY"].get("min") == "0" and
          create["QUALITY"].get("max") == "100", "QUALITY range")
    check(create["TILE_SIZE"].get("default") == "512", "TILE_SIZE default")
    check("NUM_THREADS" in options("OpenOptionList"), "open options")
    p = run([GDALINFO, "--formats"])
    check(re.search(r"^\s*MSIC -raster- \(rwv\): ", p.stdout, re.M),
          "MSIC not listed as a read + CreateCopy + virtual IO raster "
          "driver:\n" + p.stdout)


def case_plugin_links():
    """The plugin links only libmsic and GDAL (plus the C/C++ runtime)."""
    plugin = os.environ["MSIC_PLUGIN_FILE"]
    check(os.path.basename(plugin) == "gdal_MSIC.so",
          "plugin file is %s, GDAL loads gdal_<NAME>.so" % plugin)
    check(os.path.dirname(plugin) ==
          os.environ["GDAL_DRIVER_PATH"].split(":")[0],
          "the tests' GDAL_DRIVER_PATH is not the plugin's folder")
    p = run(["readelf", "-d", plugin])
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.*?)\]", p.stdout)
    allowed = re.compile(
        r"^(libmsic\.so.*|libgdal\.so.*|libstdc\+\+\.so.*|libm\.so.*|"
        r"libgcc_s\.so.*|libc\.so.*)$")
    bad = [n for n in needed if not allowed.match(n)]
    check(not bad, "gdal_MSIC.so links more than libmsic + GDAL: %s" % bad)
    check(any(n.startswith("libmsic") for n in needed), "libmsic not linked")
    check(any(n.startswith("libgdal") for n in needed), "libgdal not linked")
    p = run(["nm", "-D", "--defined-only", plugin])
    exported = [line.split()[-1] for line in p.stdout.splitlines()
                if " T " in line]
    check("GDALRegister_MSIC" in exported,
          "GDALRegister_MSIC not exported: %s" % exported)
    check(len(exported) <= 3,
          "the plugin exports more than its entry point: %s" % exported)


def case_translate_roundtrip():
    src = make_georef_tif()
    out = os.path.join(WORK, "out.msic")
    p = to_msic(src, out, ["-co", "QUALITY=80"])
    # gdal_translate's progress bar went through.
    check("0...10...20...30...40...50...60...70...80...90...100 - done." in
          p.stdout, "no full progress bar:\n" + p.stdout)
    check(os.path.isfile(out), "no output file")
    leftovers = sorted(f for f in os.listdir(WORK)
                       if f not in ("src.tif", "out.msic"))
    check(not leftovers, "files left next to the output: %s" % leftovers)
    raw = 768 * 512 * 3
    size = os.path.getsize(out)
    check(size < raw / 2, "out.msic is %d bytes for %d raw" % (size, raw))

    a = gdalinfo_json(src)
    b = gdalinfo_json(out)
    check(b["driverShortName"] == "MSIC", "opened by %s" % b["driverShortName"])
    check(b["size"] == a["size"], "size %s vs %s" % (b["size"], a["size"]))
    check(b["geoTransform"] == a["geoTransform"],
          "geotransform %s vs %s" % (b["geoTransform"], a["geoTransform"]))
    gdal = import_gdal()
    from osgeo import osr
    sa = osr.SpatialReference()
    sa.ImportFromWkt(a["coordinateSystem"]["wkt"])
    sb = osr.SpatialReference()
    sb.ImportFromWkt(b["coordinateSystem"]["wkt"])
    check(sb.IsSame(sa), "CRS differs:\n%s\nvs\n%s" %
          (b["coordinateSystem"]["wkt"], a["coordinateSystem"]["wkt"]))
    sb.AutoIdentifyEPSG()
    check(sb.GetAuthorityCode(None) == "32633",
          "CRS is not EPSG:32633 any more")
    check(len(b["bands"]) == 3, "bands: %d" % len(b["bands"]))
    for band_a, band_b in zip(a["bands"], b["bands"]):
        check(band_b.get("noDataValue") == band_a.get("noDataValue") == 0,
              "nodata %s vs %s" % (band_b.get("noDataValue"),
                                   band_a.get("noDataValue")))
        check(band_b["type"] == "Byte", "type %s" % band_b["type"])
        check(band_b["block"] == [512, 512], "block %s" % band_b["block"])
    check([bd["colorInterpretation"] for bd in b["bands"]] ==
          ["Red", "Green", "Blue"], "colour interpretation")
    md = b["metadata"]
    check(md.get("", {}).get("MSIC_TEST") == "hello world",
          "default-domain metadata lost: %s" % md)
    check(md.get("", {}).get("AREA_OR_POINT") ==
          a["metadata"][""].get("AREA_OR_POINT"), "AREA_OR_POINT lost")
    ims = md.get("IMAGE_STRUCTURE", {})
    check(ims.get("COMPRESSION") == "MSIC", "IMAGE_STRUCTURE %s" % ims)
    check(ims.get("INTERLEAVE") == "PIXEL", "IMAGE_STRUCTURE %s" % ims)
    check(float(ims.get("QUALITY", "nan")) == 80.0, "IMAGE_STRUCTURE %s" % ims)
    # Everything above came from the file, not a side-car.
    check(not os.path.exists(out + ".aux.xml"), "a .aux.xml was written")

    back = os.path.join(WORK, "back.tif")
    run([GDAL_TRANSLATE, "-q", out, back])
    c = gdalinfo_json(back)
    check(c["geoTransform"] == a["geoTransform"], "back.tif geotransform")
    check(c["bands"][0].get("noDataValue") == 0, "back.tif nodata")
    value = psnr(read_array(src), read_array(back))
    print("PSNR of back.tif at QUALITY=80: %.2f dB, %d bytes (%.3f bpp)" %
          (value, size, size * 8.0 / (768 * 512)))
    check(value >= 25.0, "PSNR %.2f dB < 25 dB" % value)


def case_quality_option():
    """QUALITY reaches the encoder; TILE_SIZE becomes the block size."""
    src = kodim()
    sizes = {}
    for q in ("10", "90"):
        out = os.path.join(WORK, "q%s.msic" % q)
        to_msic(src, out, ["-q", "-co", "QUALITY=" + q])
        sizes[q] = os.path.getsize(out)
        ims = gdalinfo_json(out)["metadata"]["IMAGE_STRUCTURE"]
        check(float(ims["QUALITY"]) == float(q), "QUALITY %s" % ims)
    check(sizes["10"] < sizes["90"], "QUALITY=10 is not smaller: %s" % sizes)
    low = psnr(read_array(src), read_array(os.path.join(WORK, "q10.msic")))
    high = psnr(read_array(src), read_array(os.path.join(WORK, "q90.msic")))
    print("sizes %s, PSNR q10 %.2f dB, q90 %.2f dB" % (sizes, low, high))
    check(high > low, "QUALITY=90 is not better than 10")

    out = os.path.join(WORK, "t128.msic")
    to_msic(src, out, ["-q", "-co", "TILE_SIZE=128", "-co", "NUM_THREADS=2"])
    info = gdalinfo_json(out)
    check(info["bands"][0]["block"] == [128, 128],
          "block %s" % info["bands"][0]["block"])
    # Same pixels whatever the number of decoding threads.
    gdal = import_gdal()
    ref = gdal.OpenEx(out, open_options=["NUM_THREADS=1"]).ReadAsArray()
    par = gdal.OpenEx(out, open_options=["NUM_THREADS=4"]).ReadAsArray()
    check((ref == par).all(), "NUM_THREADS=4 decodes other pixels")
    check(psnr(read_array(src), ref) >= 25, "TILE_SIZE=128 file is broken")

    for bad in (["QUALITY=101"], ["QUALITY=abc"], ["TILE_SIZE=100"],
                ["TILE_SIZE=32"]):
        dst = os.path.join(WORK, "bad.msic")
        p = to_msic(src, dst, ["-co", bad[0]], expect_ok=False)
        check(p.returncode != 0, "-co %s accepted" % bad[0])
        check(bad[0].split("=")[0] in p.stderr, "no message for %s: %s" %
              (bad[0], p.stderr))
        check(not os.path.exists(dst), "-co %s left a file" % bad[0])


def case_grey():
    src = make_georef_tif("grey.tif", ["-b", "2"])
    out = os.path.join(WORK, "grey.msic")
    to_msic(src, out, ["-q", "-co", "QUALITY=80"])
    info = gdalinfo_json(out)
    check(len(info["bands"]) == 1, "bands %d" % len(info["bands"]))
    check(info["bands"][0]["colorInterpretation"] == "Gray",
          "colour interpretation %s" % info["bands"][0]["colorInterpretation"])
    check(info["bands"][0].get("noDataValue") == 0, "nodata")
    value = psnr(read_array(src), read_array(out))
    print("grey PSNR %.2f dB" % value)
    check(value >= 25, "grey PSNR %.2f" % value)


def case_unsupported():
    src = make_georef_tif()
    cases = [
        (["-ot", "UInt16"], "Byte"),
        (["-b", "1", "-b", "2"], "1 band (grey) or 3 bands (RGB)"),
        (["-b", "1", "-b", "2", "-b", "3", "-b", "1"],
         "1 band (grey) or 3 bands (RGB)"),
        (["-ot", "Float32", "-b", "1"], "Byte"),
    ]
    for opts, message in cases:
        dst = os.path.join(WORK, "bad.msic")
        p = to_msic(src, dst, opts, expect_ok=False)
        check(p.returncode != 0, "%s accepted" % opts)
        check(message in p.stderr,
              "%s: error does not say %r:\n%s" % (opts, message, p.stderr))
        check(not os.path.exists(dst), "%s left a file" % opts)


def case_model_mismatch():
    """A file coded with another model: gdalinfo still works and warns;
    decoding fails with a message naming the model, not garbage pixels."""
    import struct
    import zlib
    src = kodim()
    out = os.path.join(WORK, "other.msic")
    to_msic(src, out, ["-q", "-co", "TILE_SIZE=256"])
    data = bytearray(open(out, "rb").read())
    # formats/MSIC.md: model_hash at 40..72, header CRC-32 in the last 4
    # bytes of the header_size (offset 12) header bytes.
    header_size = struct.unpack_from("<I", data, 12)[0]
    data[40:72] = bytes(range(32))
    struct.pack_into("<I", data, header_size - 4,
                     zlib.crc32(bytes(data[:header_size - 4])) & 0xffffffff)
    with open(out, "wb") as f:
        f.write(data)
    other_hash = bytes(range(32)).hex()
    p = run([GDALINFO, out])
    check("was coded with model %s" % other_hash in p.stderr,
          "no model warning:\n" + p.stderr)
    check("MODEL=" in p.stderr, "the warning does not name the option")
    check(other_hash in p.stdout, "MSIC_MODEL_HASH not reported")
    back = os.path.join(WORK, "other.tif")
    p = run([GDAL_TRANSLATE, out, back], expect_ok=False)
    check(p.returncode != 0, "a file of another model decoded")
    check(other_hash in p.stderr, "decode error does not name the model:\n" +
          p.stderr)


def make_big_source(size):
    """A size x size RGB VRT: kodim23 upsampled, mostly smooth."""
    vrt = os.path.join(WORK, "big.vrt")
    run([GDAL_TRANSLATE, "-q", "-of", "VRT", "-outsize", str(size), str(size),
         "-r", "bilinear", "-a_srs", EPSG, "-a_ullr", "0", str(size),
         str(size), "0", kodim(), vrt])
    return vrt


def case_srcwin():
    size = int(os.environ.get("MSIC_GDAL_BIG_SIZE", "4096"))
    tile = int(os.environ.get("MSIC_GDAL_BIG_TILE", "256"))
    per_side = (size + tile - 1) // tile
    src = make_big_source(size)
    big = os.path.join(WORK, "big.msic")
    p = to_msic(src, big, ["-q", "-co", "TILE_SIZE=%d" % tile,
                           "-co", "QUALITY=50"])
    print("encoded %dx%d (%d tiles of %d) in %.1f s, %d bytes" %
          (size, size, per_side ** 2, tile, p.elapsed, os.path.getsize(big)))
    dbg = {"CPL_DEBUG": "MSIC"}

    # A window inside one tile decodes that tile and no other.
    x, y = tile * (per_side // 2) + 10, tile * (per_side // 3) + 20
    one = os.path.join(WORK, "one.tif")
    p = run([GDAL_TRANSLATE, "-srcwin", str(x), str(y), "100", "100", big,
             one], env=dbg)
    n, total = tiles_decoded(p.stderr, "big.msic")
    print("-srcwin inside one tile: %d of %d tiles, %.2f s" %
          (n, total, p.elapsed))
    check(total == per_side ** 2, "tile total %d" % total)
    check(n == 1, "decoded %d tiles for a window inside one tile" % n)
    t_one = p.elapsed

    # A window across a corner of four tiles decodes those four.
    x4, y4 = tile * 3 - 50, tile * 5 - 50
    four = os.path.join(WORK, "four.tif")
    p = run([GDAL_TRANSLATE, "-srcwin", str(x4), str(y4), "100", "100", big,
             four], env=dbg)
    n, _ = tiles_decoded(p.stderr, "big.msic")
    print("-srcwin across four tiles: %d tiles, %.2f s" % (n, p.elapsed))
    check(n == 4, "decoded %d tiles for a window across four" % n)

    # The crops are the same pixels as the whole image decoded.
    full = os.path.join(WORK, "full.tif")
    p = run([GDAL_TRANSLATE, big, full], env=dbg)
    n, _ = tiles_decoded(p.stderr, "big.msic")
    print("whole image: %d tiles, %.2f s (one tile: %.2f s)" %
          (n, p.elapsed, t_one))
    check(n == per_side ** 2, "whole image decoded %d tiles" % n)
    # And in time: one tile costs a small part of the whole (the one-tile
    # run is mostly process start and model loading).
    check(t_one < p.elapsed / 3,
          "one-tile crop took %.2f s, the whole image %.2f s" %
          (t_one, p.elapsed))
    whole = read_array(full)
    import numpy as np
    check(np.array_equal(read_array(one), whole[:, y:y + 100, x:x + 100]),
          "the one-tile crop differs from the whole decode")
    check(np.array_equal(read_array(four),
                         whole[:, y4:y4 + 100, x4:x4 + 100]),
          "the four-tile crop differs from the whole decode")
    # The source is smooth: the codec must keep it recognisable.
    check(psnr(read_array(src), whole) >= 25, "big image PSNR below 25 dB")
    check(gdalinfo_json(full)["geoTransform"] == [0, 1, 0, size, 0, -1],
          "big geotransform lost")


def peak_rss_kib(args):
    """Peak resident memory of a program run in a fresh child, in KiB."""
    probe = ("import resource, subprocess, sys\n"
             "subprocess.run(sys.argv[1:], check=True, "
             "stdout=subprocess.DEVNULL)\n"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    p = run([sys.executable, "-c", probe] + args)
    return int(p.stdout.strip().splitlines()[-1]), p.elapsed


def case_bounded_memory():
    """CreateCopy reads the source a tile row at a time: a 16 times taller
    image does not need more memory (the whole image would be 48 MiB)."""
    rss = {}
    for rows in (1024, 16384):
        vrt = os.path.join(WORK, "tall%d.vrt" % rows)
        run([GDAL_TRANSLATE, "-q", "-of", "VRT", "-outsize", "1024",
             str(rows), "-r", "bilinear", kodim(), vrt])
        rss[rows], elapsed = peak_rss_kib(
            [GDAL_TRANSLATE, "-q", "-of", "MSIC", "-co", "TILE_SIZE=256",
             "--config", "GDAL_CACHEMAX", "16", vrt,
             os.path.join(WORK, "tall%d.msic" % rows)])
        print("1024 x %d: peak RSS %d KiB, %.1f s" % (rows, rss[rows],
                                                      elapsed))
    check(os.path.getsize(os.path.join(WORK, "tall16384.msic")) > 0, "output")
    grown = rss[16384] - rss[1024]
    check(grown < 16 * 1024,
          "peak memory grew by %d KiB for 15360 more rows" % grown)


def case_vsimem():
    gdal = import_gdal()
    import numpy as np
    src = make_georef_tif()
    dst = "/vsimem/msic_test/out.msic"
    ds = gdal.Translate(dst, src, format="MSIC", creationOptions=["QUALITY=80"])
    check(ds is not None, "gdal.Translate to /vsimem/ failed")
    ds = None
    check(gdal.ReadDir("/vsimem/msic_test") == ["out.msic"],
          "/vsimem/msic_test holds %s" % gdal.ReadDir("/vsimem/msic_test"))
    ds = gdal.Open(dst)
    check(ds.GetDriver().ShortName == "MSIC", "driver")
    check(ds.GetGeoTransform() == gdal.Open(src).GetGeoTransform(),
          "geotransform")
    check(ds.GetSpatialRef().GetAuthorityCode(None) == "32633", "crs")
    check(ds.GetRasterBand(1).GetNoDataValue() == 0, "nodata")
    back = ds.ReadAsArray()
    value = psnr(gdal.Open(src).ReadAsArray(), back)
    print("/vsimem/ PSNR %.2f dB" % value)
    check(value >= 25, "PSNR %.2f" % value)
    ds = None
    # The bytes in /vsimem/ are a file: the same bytes on disk read the same.
    f = gdal.VSIFOpenL(dst, "rb")
    data = gdal.VSIFReadL(1, 1 << 30, f)
    gdal.VSIFCloseL(f)
    disk = os.path.join(WORK, "fromvsimem.msic")
    with open(disk, "wb") as fh:
        fh.write(data)
    check(np.array_equal(read_array(disk), back), "disk copy differs")
    gdal.Unlink(dst)
    # Copy back out of /vsimem/ with CreateCopy from an MSIC source.
    ds = gdal.GetDriverByName("MSIC").CreateCopy(
        "/vsimem/msic_test/again.msic", gdal.Open(disk), options=["QUALITY=90"])
    check(ds.GetMetadataItem("QUALITY", "IMAGE_STRUCTURE") == "90", "QUALITY")
    ds = None
    gdal.Unlink("/vsimem/msic_test/again.msic")


def case_vsizip():
    import numpy as np
    src = make_georef_tif()
    out = os.path.join(WORK, "z.msic")
    to_msic(src, out, ["-q", "-co", "TILE_SIZE=128"])
    zpath = os.path.join(WORK, "z.zip")
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(out, "inner/z.msic")
    vsi = "/vsizip/%s/inner/z.msic" % zpath
    info = gdalinfo_json(vsi)
    check(info["driverShortName"] == "MSIC", "driver through /vsizip/")
    check(info["geoTransform"] == gdalinfo_json(src)["geoTransform"],
          "geotransform through /vsizip/")
    check(np.array_equal(read_array(vsi), read_array(out)),
          "/vsizip/ decodes other pixels")
    crop = os.path.join(WORK, "crop.tif")
    run([GDAL_TRANSLATE, "-q", "-srcwin", "200", "100", "300", "200", vsi,
         crop])
    check(np.array_equal(read_array(crop),
                         read_array(out)[:, 100:300, 200:500]),
          "/vsizip/ -srcwin crop differs")


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files with HTTP Range support, counting bytes sent."""
    sent = 0
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self._serve(head=True)

    def do_GET(self):
        self._serve(head=False)

    def _serve(self, head):
        path = self.translate_path(self.path)
        if not os.path.isfile(path):
            self.send_error(404)
            return
        size = os.path.getsize(path)
        rng = self.headers.get("Range")
        start, end = 0, size - 1
        status = 200
        if rng:
            m = re.match(r"bytes=(\d+)-(\d*)", rng)
            if not m:
                self.send_error(416)
                return
            start = int(m.group(1))
            end = min(int(m.group(2)) if m.group(2) else size - 1, size - 1)
            if start >= size:
                self.send_error(416)
                return
            status = 206
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        if status == 206:
            self.send_header("Content-Range",
                             "bytes %d-%d/%d" % (start, end, size))
        self.end_headers()
        if head:
            return
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read(end - start + 1)
        self.wfile.write(data)
        with _RangeHandler.lock:
            _RangeHandler.sent += len(data)


def case_vsicurl():
    """Reads over HTTP from a loopback server, fetching only what it needs."""
    import numpy as np
    gdal = import_gdal()
    src = make_big_source(2048)
    out = os.path.join(WORK, "remote.msic")
    to_msic(src, out, ["-q", "-co", "TILE_SIZE=256", "-co", "QUALITY=50"])
    size = os.path.getsize(out)

    def handler(*args, **kwargs):
        return _RangeHandler(*args, directory=WORK, **kwargs)

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True

    server = Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                    "all_proxy", "ALL_PROXY"):
            os.environ.pop(key, None)
        gdal.SetConfigOption("GDAL_HTTP_PROXY", None)
        gdal.SetConfigOption("CPL_VSIL_CURL_ALLOWED_EXTENSIONS", None)
        gdal.SetConfigOption("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR")
        url = "/vsicurl/http://127.0.0.1:%d/remote.msic" % \
            server.server_address[1]
        ds = gdal.Open(url)
        check(ds.GetDriver().ShortName == "MSIC", "driver over /vsicurl/")
        window = ds.ReadAsArray(1100, 900, 64, 64)
        sent = _RangeHandler.sent
        print("/vsicurl/: %d of %d bytes fetched for a 64x64 window" %
              (sent, size))
        ds = None
        local = gdal.Open(out).ReadAsArray(1100, 900, 64, 64)
        check(np.array_equal(window, local), "/vsicurl/ window differs")
        check(sent < size / 2,
              "/vsicurl/ fetched %d of %d bytes for one tile" % (sent, size))
    finally:
        server.shutdown()
        server.server_close()


def case_rasterio():
    try:
        import rasterio
        from rasterio.windows import Window
        import numpy as np
    except ImportError as e:
        raise Skip("rasterio not importable by %s: %s" % (sys.executable, e))
    src = make_georef_tif()
    out = os.path.join(WORK, "rio.msic")
    to_msic(src, out, ["-q", "-co", "QUALITY=80"])
    with rasterio.open(src) as s, rasterio.open(out) as r:
        check(r.driver == "MSIC", "rasterio driver %s" % r.driver)
        check(r.count == 3 and r.dtypes == ("uint8",) * 3,
              "count/dtypes %s %s" % (r.count, r.dtypes))
        check((r.width, r.height) == (768, 512), "size")
        check(r.crs == s.crs and r.crs.to_epsg() == 32633, "crs %s" % r.crs)
        check(r.transform == s.transform, "transform %s" % (r.transform,))
        check(r.nodata == 0, "nodata %s" % r.nodata)
        check(r.block_shapes == [(512, 512)] * 3, "blocks %s" % r.block_shapes)
        check(r.tags().get("MSIC_TEST") == "hello world", "tags %s" % r.tags())
        check(r.tags(ns="IMAGE_STRUCTURE").get("COMPRESSION") == "MSIC",
              "IMAGE_STRUCTURE tags")
        data = r.read()
        check(data.shape == (3, 512, 768), "shape %s" % (data.shape,))
        value = psnr(s.read(), data)
        print("rasterio PSNR %.2f dB" % value)
        check(value >= 25, "PSNR %.2f" % value)
        win = r.read(2, window=Window(300, 200, 50, 40))
        check(np.array_equal(win, data[1, 200:240, 300:350]),
              "windowed read differs")
        check(np.array_equal(r.read_masks(1) == 0, data[0] == 0),
              "nodata mask does not follow nodata")
    check(np.array_equal(data, read_array(out)),
          "rasterio and osgeo.gdal read different pixels")


def case_install_layout():
    """`cmake --install` puts gdal_MSIC.so where GDAL looks, and it loads."""
    build = os.environ["MSIC_BUILD_DIR"]
    reldir = os.environ["MSIC_PLUGIN_INSTALL_DIR"]
    stage = tempfile.mkdtemp(prefix="stage.", dir=WORK)
    run([os.environ.get("CMAKE_COMMAND", "cmake"), "--install", build,
         "--component", "gdal", "--prefix", stage])
    plugdir = reldir if os.path.isabs(reldir) else os.path.join(stage, reldir)
    plugin = os.path.join(plugdir, "gdal_MSIC.so")
    check(os.path.isfile(plugin), "not installed at %s; staged: %s" %
          (plugin, [os.path.join(d, f) for d, _, fs in os.walk(stage)
                    for f in fs]))
    check(reldir.endswith("gdalplugins"), "install dir %s" % reldir)
    sysdir = os.environ.get("MSIC_SYSTEM_GDAL_PLUGIN_DIR", "")
    prefix = os.environ.get("MSIC_INSTALL_PREFIX", "")
    if sysdir and prefix:
        ours = reldir if os.path.isabs(reldir) else os.path.join(prefix, reldir)
        print("GDAL's plugin dir: %s; this build installs to: %s" %
              (sysdir, ours))
        # Installed under GDAL's own prefix, it must land where GDAL looks.
        gdal_prefix = run(["gdal-config", "--prefix"]).stdout.strip()
        if os.path.realpath(prefix) == os.path.realpath(gdal_prefix):
            check(os.path.realpath(ours) == os.path.realpath(sysdir),
                  "with prefix %s the plugin goes to %s, GDAL looks in %s" %
                  (prefix, ours, sysdir))
    p = run(["readelf", "-d", plugin])
    check(build not in p.stdout,
          "installed plugin keeps a build-tree RUNPATH:\n" + p.stdout)
    libdir = os.path.dirname(os.environ["MSIC_LIB_FILE"])
    p = run([GDALINFO, "--format", "MSIC"],
            env={"GDAL_DRIVER_PATH": plugdir, "LD_LIBRARY_PATH": libdir})
    check('name="QUALITY"' in p.stdout, "installed plugin does not load")
    shutil.rmtree(stage)


def case_installed():
    """The plugin installed in GDAL's own plugin directory, if any."""
    sysdir = os.environ.get("MSIC_SYSTEM_GDAL_PLUGIN_DIR", "")
    plugin = os.path.join(sysdir, "gdal_MSIC.so")
    if not sysdir or not os.path.isfile(plugin):
        raise Skip("no installed plugin at %s" % plugin)
    env = {"GDAL_DRIVER_PATH": None}
    p = run([GDALINFO, "--format", "MSIC"], env=env)
    check('name="QUALITY"' in p.stdout, "installed plugin: no options")
    src = make_georef_tif()
    out = os.path.join(WORK, "inst.msic")
    to_msic(src, out, ["-q", "-co", "QUALITY=80"], env=env)
    info = gdalinfo_json(out, env=env)
    check(info["driverShortName"] == "MSIC", "installed driver")
    check(info["geoTransform"] == gdalinfo_json(src)["geoTransform"],
          "installed: geotransform")
    back = os.path.join(WORK, "inst_back.tif")
    run([GDAL_TRANSLATE, "-q", out, back], env=env)
    check(psnr(read_array(src), read_array(back)) >= 25, "installed: PSNR")


CASES = {name[len("case_"):]: fn for name, fn in globals().items()
         if name.startswith("case_")}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        print("usage: %s {%s}" % (sys.argv[0], ",".join(sorted(CASES))))
        return 2
    check(WORK, "MSIC_TEST_WORK is not set")
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    try:
        CASES[sys.argv[1]]()
    except Skip as e:
        print("SKIPPED: %s" % e)
        return SKIP
    except AssertionError as e:
        print("FAILED: %s" % e)
        return 1
    print("OK")
    shutil.rmtree(WORK, ignore_errors=True)  # kept only when a case fails
    return 0


if __name__ == "__main__":
    sys.exit(main())
