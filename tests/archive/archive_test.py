#!/usr/bin/python3
"""msic-archive (tools/archive/) on a LocalCluster with 2 workers, over a
generated tree of ~30 small rasters of mixed types, one of them corrupt.

    archive_test.py <case>

Cases: everything (every output verifies, the corrupt source is reported
and stops nothing), resume (a run killed midway, then rerun, finishes the
rest without redoing what was done), changed (a changed source is redone,
nothing else), bounded (--max-error records and keeps the bound).
Environment (set by ctest): GDAL_DRIVER_PATH, MSIC_ARCHIVE (the script),
MSIC_TEST_WORK (a scratch folder). Exit status 77: skipped (no dask).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

SKIP = 77
WORK = os.environ.get("MSIC_TEST_WORK", "/tmp/msic-archive-test")
ARCHIVE = os.environ.get("MSIC_ARCHIVE", "msic-archive")


def fail(msg):
    raise AssertionError(msg)


def check(cond, msg):
    if not cond:
        fail(msg)


def make_tree(root, count=30):
    """count rasters in nested folders (GTiff of every type, PNG, JPEG
    2000, nodata, several band counts), one corrupt GTiff, one text file."""
    import numpy as np
    from osgeo import gdal
    gdal.UseExceptions()
    kinds = [("Byte", 1, "GTiff"), ("Byte", 3, "GTiff"), ("UInt16", 4, "GTiff"), ("Int16", 1, "GTiff"),
             ("Float32", 2, "GTiff"), ("Byte", 3, "PNG"), ("UInt16", 1, "JP2OpenJPEG"), ("Int32", 1, "GTiff")]
    rng = np.random.default_rng(7)
    paths = []
    for i in range(count):
        type_name, bands, driver = kinds[i % len(kinds)]
        folder = os.path.join(root, "zone%d" % (i % 3), "year%d" % (2020 + i % 2))
        os.makedirs(folder, exist_ok=True)
        ext = {"GTiff": "tif", "PNG": "png", "JP2OpenJPEG": "jp2"}[driver]
        path = os.path.join(folder, "scene%02d.%s" % (i, ext))
        w, h = 96 + 8 * (i % 5), 80 + 4 * (i % 7)
        mem = gdal.GetDriverByName("MEM").Create("", w, h, bands, gdal.GetDataTypeByName(type_name))
        y, x = np.mgrid[0:h, 0:w]
        for b in range(bands):
            v = 100 + 60 * np.sin(x * 0.1 + b + i) * np.cos(y * 0.07) + rng.normal(0, 3, (h, w))
            if type_name == "Float32":
                v = v * 0.37
            elif type_name != "Byte":
                v = v * 40
            mem.GetRasterBand(b + 1).WriteArray(v)
        if type_name in ("Int16", "Float32"):
            nodata = -9999 if type_name == "Int16" else float("nan")
            for b in range(bands):
                band = mem.GetRasterBand(b + 1)
                band.SetNoDataValue(nodata)
                a = band.ReadAsArray()
                a[: h // 4, : w // 3] = nodata
                band.WriteArray(a)
        mem.SetGeoTransform([500000 + i * 1000, 10, 0, 4600000, 0, -10])
        options = ["REVERSIBLE=YES", "QUALITY=100"] if driver == "JP2OpenJPEG" else []
        gdal.GetDriverByName(driver).CreateCopy(path, mem, options=options)
        paths.append(path)
    bad = os.path.join(root, "zone1", "broken.tif")
    with open(paths[1], "rb") as f:
        head = f.read(600)
    with open(bad, "wb") as f:
        f.write(head)  # a GeoTIFF cut short: its strips are missing
    with open(os.path.join(root, "README.txt"), "w") as f:
        f.write("not a raster\n")
    return paths


def run_archive(src, dst, *extra, check_status=None):
    p = subprocess.run([sys.executable, ARCHIVE, src, dst, "--workers", "2", *extra],
                       capture_output=True, text=True, timeout=600)
    if check_status is not None and p.returncode != check_status:
        fail("msic-archive exited %d (wanted %d):\n%s\n%s" % (p.returncode, check_status, p.stdout, p.stderr))
    return p


def manifest(dst):
    with open(os.path.join(dst, "msic-archive.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


def verify_outputs(src, dst, records):
    """Every ok record's output is exact (lossless) and its checksums are
    the source's."""
    from osgeo import gdal
    gdal.UseExceptions()
    for r in records:
        if r["status"] != "ok":
            continue
        s = gdal.Open(os.path.join(src, r["source"]))
        o = gdal.Open(os.path.join(dst, r["source"] + ".msic"))
        check(o.GetDriver().ShortName == "MSIC", "%s: not an MSIC file" % r["source"])
        for b in range(1, s.RasterCount + 1):
            check(s.GetRasterBand(b).Checksum() == o.GetRasterBand(b).Checksum(),
                  "%s band %d: checksum differs" % (r["source"], b))


def tmp_files(root):
    return [n for _, _, files in os.walk(root) for n in files if n.startswith(".msic-archive-tmp-")]


def case_everything():
    src, dst = os.path.join(WORK, "src"), os.path.join(WORK, "dst")
    paths = make_tree(src)
    p = run_archive(src, dst, check_status=1)  # 1: the broken file failed
    records = manifest(dst)
    ok = [r for r in records if r["status"] == "ok"]
    bad = [r for r in records if r["status"] != "ok"]
    check(len(ok) == len(paths), "%d of %d archived:\n%s" % (len(ok), len(paths), p.stderr))
    check([r["source"] for r in bad] == [os.path.join("zone1", "broken.tif")], "failed: %s" % bad)
    check("broken.tif" in p.stdout, "the failure is not reported:\n" + p.stdout)
    for r in ok:
        for key in ("size", "sha256", "output_size", "mode", "seconds", "worker", "max_error_measured"):
            check(key in r, "record lacks %s: %s" % (key, r))
    check(len({r["worker"] for r in ok}) == 2, "the jobs did not spread over 2 workers: %s"
          % {r["worker"] for r in ok})
    verify_outputs(src, dst, records)
    check(not tmp_files(dst), "temporary files left: %s" % tmp_files(dst))
    check(not os.path.exists(os.path.join(dst, "README.txt.msic")), "a text file was archived")
    # A rerun does nothing new but retries the failure.
    p = run_archive(src, dst, check_status=1)
    again = manifest(dst)[len(records):]
    check([r["source"] for r in again] == [os.path.join("zone1", "broken.tif")],
          "the rerun redid %s" % [r["source"] for r in again])


def case_resume():
    src, dst = os.path.join(WORK, "src"), os.path.join(WORK, "dst")
    paths = make_tree(src, 36)
    log = os.path.join(dst, "msic-archive.jsonl")
    proc = subprocess.Popen([sys.executable, ARCHIVE, src, dst, "--workers", "2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if os.path.exists(log) and sum(1 for _ in open(log)) >= 8:
            break
        if proc.poll() is not None:
            fail("the run finished before it could be killed")
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the run and its workers, midway
    proc.wait()
    before = [r for r in manifest(dst) if r["status"] == "ok"]
    check(8 <= len(before) < len(paths), "%d done when killed" % len(before))
    stamps = {r["source"]: os.stat(os.path.join(dst, r["source"] + ".msic")).st_mtime_ns for r in before}
    run_archive(src, dst, check_status=1)
    records = manifest(dst)
    ok = {}
    for r in records:
        if r["status"] == "ok":
            ok.setdefault(r["source"], []).append(r)
    check(len(ok) == len(paths), "%d of %d archived after the rerun" % (len(ok), len(paths)))
    redone = [s for s, rs in ok.items() if len(rs) > 1]
    check(not redone, "redone after the kill: %s" % redone)
    for source, stamp in stamps.items():
        check(os.stat(os.path.join(dst, source + ".msic")).st_mtime_ns == stamp, "%s rewritten" % source)
    check(not tmp_files(dst), "temporary files left: %s" % tmp_files(dst))
    verify_outputs(src, dst, records)


def case_changed():
    import numpy as np
    from osgeo import gdal
    gdal.UseExceptions()
    src, dst = os.path.join(WORK, "src"), os.path.join(WORK, "dst")
    paths = make_tree(src, 10)
    run_archive(src, dst, check_status=1)
    first = len(manifest(dst))
    target = paths[3]
    ds = gdal.Open(target, gdal.GA_Update)
    a = ds.GetRasterBand(1).ReadAsArray()
    ds.GetRasterBand(1).WriteArray(np.flipud(a))
    ds = None
    os.utime(target, ns=(time.time_ns(), time.time_ns() + 10**9))
    run_archive(src, dst, check_status=1)
    again = [r for r in manifest(dst)[first:] if r["status"] == "ok"]
    rel = os.path.relpath(target, src)
    check([r["source"] for r in again] == [rel], "redone: %s (wanted only %s)" % ([r["source"] for r in again], rel))
    verify_outputs(src, dst, manifest(dst)[first:])


def case_bounded():
    src, dst = os.path.join(WORK, "src"), os.path.join(WORK, "dst")
    make_tree(src, 8)
    run_archive(src, dst, "--max-error", "2", check_status=1)
    ok = [r for r in manifest(dst) if r["status"] == "ok"]
    check(len(ok) == 8, "%d of 8 archived" % len(ok))
    for r in ok:
        check(r["mode"] == "max_error=2.0", "mode %s" % r["mode"])
        check(r["max_error_measured"] <= 2, "%s: error %s" % (r["source"], r["max_error_measured"]))


CASES = {name[len("case_"):]: fn for name, fn in globals().items() if name.startswith("case_")}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        print("usage: %s {%s}" % (sys.argv[0], ",".join(sorted(CASES))))
        return 2
    try:
        import distributed  # noqa: F401
        from osgeo import gdal  # noqa: F401
    except ImportError as e:
        print("SKIPPED: %s (Debian: python3-distributed, python3-gdal)" % e)
        return SKIP
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    try:
        CASES[sys.argv[1]]()
    except AssertionError as e:
        print("FAILED: %s" % e)
        return 1
    print("OK")
    shutil.rmtree(WORK, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
