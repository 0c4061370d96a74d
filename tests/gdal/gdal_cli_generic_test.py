#!/usr/bin/python3
"""The checks of GDAL's generic driver tests (autotest's gdaltest.GDALTest:
testOpen, testCreateCopy, testCreate, testSetGeoTransform, testSetProjection,
testSetMetadata, testSetNoDataValue, testSetDescription, testSetUnitType),
written here for the MSIC driver and run with LOSSLESS=YES, so that every
checksum must match; then rasterio writing through Create() and
gdal_translate to /vsistdout/.

    gdal_cli_generic_test.py <case>      (see gdal_cli_support.py)
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gdal_cli_support import (GDAL_TRANSLATE, WORK, check, import_gdal,  # noqa: E402
                              main, run)

OPTIONS = ["LOSSLESS=YES", "TILE_SIZE=64"]
# Every type the driver creates, as GDALTest is run once per type.
TYPES = ["Byte", "UInt16", "Int16", "UInt32", "Int32", "Float32"]


def source(gdal, type_name, bands=1, size=(150, 90)):
    """A GTiff with structure in every band (what GDALTest's reference
    files are: real data, checksums that mean something)."""
    import numpy as np
    path = os.path.join(WORK, "src_%s_%d.tif" % (type_name, bands))
    dtype = gdal.GetDataTypeByName(type_name)
    ds = gdal.GetDriverByName("GTiff").Create(path, size[0], size[1], bands, dtype)
    y, x = np.mgrid[0:size[1], 0:size[0]]
    lo, hi = {"Byte": (0, 255), "UInt16": (0, 65535), "Int16": (-32768, 32767),
              "UInt32": (0, 4e9), "Int32": (-2e9, 2e9), "Float32": (-50, 950)}[type_name]
    for b in range(bands):
        t = 0.5 + 0.3 * np.sin(x * 0.08 + b) * np.cos(y * 0.05) + 0.1 * ((x // 16 + y // 8) % 2)
        v = lo + np.clip(t, 0, 1) * (hi - lo)
        if type_name != "Float32":
            v = np.round(v)
        ds.GetRasterBand(b + 1).WriteArray(v)
    ds.SetGeoTransform([440720, 60, 0, 3751320, 0, -60])
    ds.SetProjection('PROJCS["NAD27 / UTM zone 11N",GEOGCS["NAD27",DATUM["North_American_Datum_1927",'
                     'SPHEROID["Clarke 1866",6378206.4,294.978698213898]],PRIMEM["Greenwich",0],'
                     'UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
                     'PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",-117],'
                     'PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",500000],'
                     'PARAMETER["false_northing",0],UNIT["metre",1],AUTHORITY["EPSG","26711"]]')
    ds = None
    return path


def checksums(ds):
    return [ds.GetRasterBand(b + 1).Checksum() for b in range(ds.RasterCount)]


def case_open():
    """testOpen: a file opens with its size, bands, type, georeferencing and
    the checksum of what was written."""
    gdal = import_gdal()
    src = gdal.Open(source(gdal, "Int16", 3))
    path = os.path.join(WORK, "open.msic")
    gdal.Translate(path, src, format="MSIC", creationOptions=OPTIONS)
    ds = gdal.Open(path)
    check(ds.GetDriver().ShortName == "MSIC", "driver %s" % ds.GetDriver().ShortName)
    check((ds.RasterXSize, ds.RasterYSize, ds.RasterCount) == (150, 90, 3), "layout")
    check(ds.GetRasterBand(1).DataType == gdal.GDT_Int16, "type")
    check(checksums(ds) == checksums(src), "checksums %s vs %s" % (checksums(ds), checksums(src)))
    check(ds.GetGeoTransform() == src.GetGeoTransform(), "geotransform")
    check(ds.GetSpatialRef().IsSame(src.GetSpatialRef()), "projection")


def case_create_copy():
    """testCreateCopy, per type, to a file and to /vsimem/: checksums, no
    warning, georeferencing."""
    gdal = import_gdal()
    for type_name in TYPES:
        for bands in (1, 3):
            src = gdal.Open(source(gdal, type_name, bands))
            for path in (os.path.join(WORK, "cc_%s.msic" % type_name), "/vsimem/cc_%s.msic" % type_name):
                gdal.ErrorReset()
                new = gdal.GetDriverByName("MSIC").CreateCopy(path, src, options=OPTIONS)
                check(gdal.GetLastErrorMsg() == "", "%s: %s" % (type_name, gdal.GetLastErrorMsg()))
                check(checksums(new) == checksums(src), "%s x %d: checksum on the returned dataset" % (type_name, bands))
                new = None
                new = gdal.Open(path)
                check(checksums(new) == checksums(src), "%s x %d: checksum after reopening" % (type_name, bands))
                check(new.GetRasterBand(1).DataType == src.GetRasterBand(1).DataType, "type")
                check(new.GetGeoTransform() == src.GetGeoTransform(), "geotransform")
                new = None
                gdal.GetDriverByName("MSIC").Delete(path)
                check(not os.path.exists(path), "Delete left %s" % path)


def case_create():
    """testCreate, per type: Create(), WriteRaster of the source, close,
    reopen, checksum."""
    gdal = import_gdal()
    for type_name in TYPES:
        src = gdal.Open(source(gdal, type_name, 2))
        path = os.path.join(WORK, "create_%s.msic" % type_name)
        new = gdal.GetDriverByName("MSIC").Create(path, src.RasterXSize, src.RasterYSize, 2,
                                                  src.GetRasterBand(1).DataType, options=OPTIONS)
        check(new is not None, "Create returned None for %s" % type_name)
        for b in (1, 2):
            data = src.GetRasterBand(b).ReadRaster(0, 0, src.RasterXSize, src.RasterYSize)
            new.GetRasterBand(b).WriteRaster(0, 0, src.RasterXSize, src.RasterYSize, data)
        new = None
        check(gdal.GetLastErrorType() == gdal.CE_None, "close: %s" % gdal.GetLastErrorMsg())
        new = gdal.Open(path)
        check(checksums(new) == checksums(src), "%s: checksums %s vs %s" % (type_name, checksums(new), checksums(src)))


def created(gdal, name, type_name="Byte"):
    """A new one-band dataset from Create(), as the testSet* checks use."""
    path = os.path.join(WORK, name)
    return path, gdal.GetDriverByName("MSIC").Create(path, 64, 48, 1, gdal.GetDataTypeByName(type_name),
                                                     options=OPTIONS)


def case_set_geotransform():
    gdal = import_gdal()
    gt = (123.0, 1.18, 0.0, 456.0, 0.0, -1.18)
    path, ds = created(gdal, "gt.msic")
    check(ds.SetGeoTransform(gt) == gdal.CE_None, "SetGeoTransform")
    ds = None
    got = gdal.Open(path).GetGeoTransform()
    check(all(abs(a - b) < 1e-9 for a, b in zip(got, gt)), "geotransform %s" % (got,))


def case_set_projection():
    gdal = import_gdal()
    from osgeo import osr
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32633)
    path, ds = created(gdal, "srs.msic")
    check(ds.SetProjection(srs.ExportToWkt()) == gdal.CE_None, "SetProjection")
    ds = None
    got = gdal.Open(path).GetSpatialRef()
    check(got is not None and got.IsSame(srs), "projection %s" % (got and got.ExportToWkt(),))


def case_set_metadata():
    gdal = import_gdal()
    path, ds = created(gdal, "md.msic")
    ds.SetMetadata({"TEST_KEY": "TestValue", "OTHER": "x y z"})
    ds.GetRasterBand(1).SetMetadata({"BAND_KEY": "BandValue"})
    ds = None
    ds = gdal.Open(path)
    md = ds.GetMetadata()
    check(md.get("TEST_KEY") == "TestValue" and md.get("OTHER") == "x y z", "metadata %s" % md)
    check(ds.GetRasterBand(1).GetMetadata().get("BAND_KEY") == "BandValue",
          "band metadata %s" % ds.GetRasterBand(1).GetMetadata())


def case_set_nodata():
    gdal = import_gdal()
    for type_name, value in (("Byte", 1), ("Int16", -9999), ("Float32", -3.5), ("Float32", float("nan"))):
        path, ds = created(gdal, "nd_%s.msic" % type_name, type_name)
        check(ds.GetRasterBand(1).SetNoDataValue(value) == gdal.CE_None, "SetNoDataValue")
        ds = None
        reopened = gdal.Open(path)  # kept: GDAL 3.6's bindings crash if a band outlives its dataset
        got = reopened.GetRasterBand(1).GetNoDataValue()
        check(got == value or (value != value and got != got), "%s nodata %s" % (type_name, got))


def case_set_description():
    gdal = import_gdal()
    path, ds = created(gdal, "desc.msic")
    ds.GetRasterBand(1).SetDescription("Description")
    ds = None
    reopened = gdal.Open(path)
    got = reopened.GetRasterBand(1).GetDescription()
    check(got == "Description", "description %r" % got)


def case_set_unit_type():
    gdal = import_gdal()
    path, ds = created(gdal, "unit.msic")
    check(ds.GetRasterBand(1).SetUnitType("ft") == gdal.CE_None, "SetUnitType")
    ds = None
    reopened = gdal.Open(path)
    got = reopened.GetRasterBand(1).GetUnitType()
    check(got == "ft", "unit %r" % got)


def case_rasterio_create():
    """rasterio writes through Create(): windows in any order, profile,
    tags and descriptions; the file reads back exactly."""
    gdal = import_gdal()
    try:
        import numpy as np
        import rasterio
        from rasterio.transform import from_origin
        from rasterio.windows import Window
    except ImportError as e:
        from gdal_cli_support import Skip
        raise Skip("rasterio: %s" % e)
    path = os.path.join(WORK, "rio.msic")
    data = (np.arange(3 * 200 * 300) % 5000).reshape(3, 200, 300).astype("uint16")
    profile = dict(driver="MSIC", width=300, height=200, count=3, dtype="uint16", crs="EPSG:32633",
                   transform=from_origin(500000, 4600000, 10, 10), nodata=0, LOSSLESS="YES", TILE_SIZE=64)
    with rasterio.open(path, "w", **profile) as dst:
        # Bottom half first, then the top: rows wait for the ones above.
        dst.write(data[:, 100:, :], window=Window(0, 100, 300, 100))
        dst.write(data[:, :100, :], window=Window(0, 0, 300, 100))
        dst.update_tags(SCENE="test")
        dst.set_band_description(1, "red")
    with rasterio.open(path) as src:
        check(src.driver == "MSIC", "driver %s" % src.driver)
        check(np.array_equal(src.read(), data), "pixels differ")
        check(src.crs.to_epsg() == 32633 and src.transform == profile["transform"], "georeferencing")
        check(src.nodata == 0, "nodata %s" % src.nodata)
        check(src.tags().get("SCENE") == "test", "tags %s" % src.tags())
        check(src.descriptions[0] == "red", "descriptions %s" % (src.descriptions,))
    # Update mode is refused with a message, never a silent re-encode.
    try:
        with rasterio.open(path, "r+"):
            check(False, "r+ opened an MSIC file")
    except Exception as e:  # rasterio raises its CPLE_NotSupportedError
        check("update" in str(e), "message: %s" % e)


def case_vsistdout():
    """gdal_translate to /vsistdout/ streams a valid file."""
    gdal = import_gdal()
    src = source(gdal, "UInt16", 2)
    out = os.path.join(WORK, "stdout.msic")
    with open(out, "wb") as f:
        import subprocess
        p = subprocess.run([GDAL_TRANSLATE, "-q", "-of", "MSIC", "-co", "LOSSLESS=YES", src, "/vsistdout/"],
                           stdout=f, stderr=subprocess.PIPE, text=True)
    check(p.returncode == 0, "gdal_translate failed: %s" % p.stderr)
    check(checksums(gdal.Open(out)) == checksums(gdal.Open(src)), "checksums")
    run([GDAL_TRANSLATE, "-q", "-of", "MSIC", "-co", "LOSSLESS=YES", src, os.path.join(WORK, "f.msic")])


CASES = {name[len("case_"):]: fn for name, fn in globals().items()
         if name.startswith("case_")}


if __name__ == "__main__":
    sys.exit(main(CASES))
