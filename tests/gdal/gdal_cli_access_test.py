#!/usr/bin/env python3
"""Tests of the MSIC GDAL driver through other ways in: /vsimem/, /vsizip/,
/vsicurl/ (a loopback HTTP server) and rasterio.

Run by ctest, one case per invocation: gdal_cli_access_test.py <case>
(gdal_cli_support.py describes the environment).
"""

import http.server
import os
import re
import socketserver
import sys
import threading
import zipfile

from gdal_cli_support import (GDAL_TRANSLATE, WORK, Skip, check,
                              gdalinfo_json, import_gdal, main,
                              make_big_source, make_georef_tif, psnr,
                              read_array, run, to_msic)


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
    # /vsicurl/ reads in blocks of 16 KB: the header, the index and one
    # tile take three of them, so the file must be large enough for "only
    # what it needs" to show (at QUALITY=50 it was 80 KB).
    to_msic(src, out, ["-q", "-co", "TILE_SIZE=256", "-co", "QUALITY=90"])
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
        # One tile: the default tile size makes 513..1024 px one tile.
        check(r.block_shapes == [(512, 768)] * 3, "blocks %s" % r.block_shapes)
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


CASES = {name[len("case_"):]: fn for name, fn in globals().items()
         if name.startswith("case_")}


if __name__ == "__main__":
    sys.exit(main(CASES))
