// Target 4: the GDAL driver. Its sources are linked into this program and
// registered with GDALRegister_MSIC() alone (no GDALAllRegister: no plugin,
// installed or not, is loaded). The input is written to /vsimem/, opened
// with the MSIC driver only, and its metadata, georeferencing, bands and a
// few blocks and windows are read.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "cpl_conv.h"
#include "cpl_error.h"
#include "cpl_string.h"
#include "cpl_vsi.h"
#include "gdal.h"
#include "fuzz_support.h"

extern "C" void GDALRegister_MSIC();

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  unsetenv("MSIC_MODEL_PATH");  // only the embedded model, on every machine
  CPLSetConfigOption("GDAL_PAM_ENABLED", "NO");     // no .aux.xml looked for or written
  CPLSetConfigOption("GDAL_CACHEMAX", "64");
  // Two threads, so that the driver's parallel prefetch runs too.
  CPLSetConfigOption("GDAL_NUM_THREADS", "2");
  CPLSetErrorHandler(CPLQuietErrorHandler);
  GDALRegister_MSIC();
  if (!GDALGetDriverByName("MSIC")) abort();
  return 0;
}

static void read_metadata(GDALMajorObjectH object) {
  char **domains = GDALGetMetadataDomainList(object);
  for (char **d = domains; d && *d; ++d) GDALGetMetadata(object, *d);
  CSLDestroy(domains);
  GDALGetMetadata(object, nullptr);
  GDALGetMetadata(object, "IMAGE_STRUCTURE");
  GDALGetDescription(object);
}

static void read_window(GDALDatasetH ds, int x, int y, int w, int h) {
  const int bands = GDALGetRasterCount(ds);
  std::vector<uint8_t> buf(size_t(w) * h * bands);
  (void)GDALDatasetRasterIO(ds, GF_Read, x, y, w, h, buf.data(), w, h, GDT_Byte, bands, nullptr, bands,
                      size_t(w) * bands, 1);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = "/vsimem/fuzz.msic";
  VSILFILE *fp = VSIFileFromMemBuffer(path, const_cast<GByte *>(data), vsi_l_offset(size), FALSE);
  if (!fp) return 0;
  VSIFCloseL(fp);
  const char *const drivers[] = {"MSIC", nullptr};
  GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_RASTER | GDAL_OF_READONLY, drivers, nullptr, nullptr);
  if (ds) {
    read_metadata(ds);
    double gt[6];
    GDALGetGeoTransform(ds, gt);
    GDALGetProjectionRef(ds);
    GDALGetSpatialRef(ds);
    GDALGetGCPCount(ds);
    GDALGetGCPs(ds);
    GDALGetGCPSpatialRef(ds);
    const int w = GDALGetRasterXSize(ds), h = GDALGetRasterYSize(ds);
    for (int b = 1; b <= GDALGetRasterCount(ds); ++b) {
      GDALRasterBandH band = GDALGetRasterBand(ds, b);
      int has = 0;
      GDALGetRasterNoDataValue(band, &has);
      GDALGetRasterColorInterpretation(band);
      GDALGetOverviewCount(band);
      read_metadata(band);
    }
    if (w > 0 && h > 0 && GDALGetRasterCount(ds) > 0) {
      if (uint64_t(w) * h <= MSIC_FUZZ_WHOLE_PIXELS) read_window(ds, 0, 0, w, h);
      read_window(ds, w / 3, h / 3, std::min(w - w / 3, int(MSIC_FUZZ_WINDOW)),
                  std::min(h - h / 3, int(MSIC_FUZZ_WINDOW)));
      // Blocks (tiles) straight: the first and the last of band 1.
      GDALRasterBandH band = GDALGetRasterBand(ds, 1);
      int bw = 0, bh = 0;
      GDALGetBlockSize(band, &bw, &bh);
      if (bw > 0 && bh > 0) {
        // A block holds samples of the band's type (16/32-bit in exact files).
        std::vector<uint8_t> block(size_t(bw) * bh * GDALGetDataTypeSizeBytes(GDALGetRasterDataType(band)));
        (void)GDALReadBlock(band, 0, 0, block.data());
        (void)GDALReadBlock(band, (w - 1) / bw, (h - 1) / bh, block.data());
      }
      // The first overview (a reduced level), and its mask.
      if (GDALGetOverviewCount(band) > 0) {
        GDALRasterBandH ovr = GDALGetOverview(band, 0);
        const int ow = std::min(GDALGetRasterBandXSize(ovr), int(MSIC_FUZZ_WINDOW));
        const int oh = std::min(GDALGetRasterBandYSize(ovr), int(MSIC_FUZZ_WINDOW));
        std::vector<uint8_t> buf(size_t(ow) * oh);
        (void)GDALRasterIO(ovr, GF_Read, 0, 0, ow, oh, buf.data(), ow, oh, GDT_Byte, 0, 0);
        (void)GDALRasterIO(GDALGetMaskBand(ovr), GF_Read, 0, 0, ow, oh, buf.data(), ow, oh, GDT_Byte, 0, 0);
      }
      // The mask (a file's mask band, or GDAL's default one).
      if (GDALGetMaskFlags(band) == GMF_PER_DATASET) {
        const int mw = std::min(w, int(MSIC_FUZZ_WINDOW)), mh = std::min(h, int(MSIC_FUZZ_WINDOW));
        std::vector<uint8_t> mask(size_t(mw) * mh);
        (void)GDALRasterIO(GDALGetMaskBand(band), GF_Read, 0, 0, mw, mh, mask.data(), mw, mh, GDT_Byte, 0, 0);
      }
    }
    GDALClose(ds);
  }
  VSIUnlink(path);
  CPLErrorReset();
  return 0;
}
