#!/usr/bin/env python3
"""Tests of the MSIC GDAL driver through gdal_translate and gdalinfo: round
trips and metadata, creation options, grey images, refused sources, a file
of another model, random access in a large image and bounded memory.

Run by ctest, one case per invocation: gdal_cli_translate_test.py <case>
(gdal_cli_support.py describes the environment).
"""

import os
import re
import sys

from gdal_cli_support import (GDAL_TRANSLATE, GDALINFO, WORK, check,
                              gdalinfo_json, import_gdal, kodim, main,
                              make_big_source, make_georef_tif, psnr,
                              read_array, run, to_msic)


DEBUG_TILES = re.compile(r"MSIC: (.*): (\d+) of (\d+) tiles decoded")


def tiles_decoded(stderr, name):
    """Tiles decoded for the dataset `name` (basename), from CPL_DEBUG."""
    counts = [(int(m.group(2)), int(m.group(3)))
              for m in DEBUG_TILES.finditer(stderr)
              if os.path.basename(m.group(1)) == name]
    check(counts, "no MSIC tile count for %s in the debug output:\n%s" %
          (name, stderr[-3000:]))
    return sum(c for c, _ in counts), counts[0][1]


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
        # 768 x 512 is one tile by default (MSIC_TILE_SIZE_AUTO).
        check(band_b["block"] == [768, 512], "block %s" % band_b["block"])
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
        # The file records the model's quality in hundredths; the quality
        # reported maps back from it, within 0.02.
        check(abs(float(ims["QUALITY"]) - float(q)) <= 0.02, "QUALITY %s" % ims)
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


def case_external_overview():
    """A reduced read that an external .ovr serves decodes no
    full-resolution tile (issue #15: with the default NUM_THREADS the
    driver prefetched every tile of the window before GDAL picked the
    overview)."""
    src = make_big_source(1024)
    msic = os.path.join(WORK, "ovr.msic")
    to_msic(src, msic, ["-q", "-co", "TILE_SIZE=256", "-co", "QUALITY=50"])
    gdaladdo = os.path.join(os.path.dirname(GDAL_TRANSLATE), "gdaladdo")
    run([gdaladdo, "-q", "-ro", msic, "2", "4"])
    check(os.path.isfile(msic + ".ovr"), "gdaladdo -ro wrote no .ovr")
    dbg = {"CPL_DEBUG": "MSIC"}
    for size in ("25%", "50%"):
        out = os.path.join(WORK, "preview.tif")
        p = run([GDAL_TRANSLATE, "-outsize", size, size, msic, out], env=dbg)
        n, total = tiles_decoded(p.stderr, "ovr.msic")
        print("-outsize %s with an external .ovr: %d of %d tiles decoded, "
              "%.2f s" % (size, n, total, p.elapsed))
        check(n == 0, "decoded %d full-resolution tiles for a read the .ovr "
              "serves" % n)
    # A read at full resolution still decodes (and the .ovr is not used).
    p = run([GDAL_TRANSLATE, "-srcwin", "0", "0", "100", "100", msic,
             os.path.join(WORK, "corner.tif")], env=dbg)
    n, _ = tiles_decoded(p.stderr, "ovr.msic")
    check(n == 1, "a full-resolution corner decoded %d tiles" % n)


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


CASES = {name[len("case_"):]: fn for name, fn in globals().items()
         if name.startswith("case_")}


if __name__ == "__main__":
    sys.exit(main(CASES))
