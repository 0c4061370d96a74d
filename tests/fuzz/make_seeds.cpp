// Writes the seed corpus: small valid MSIC files of every kind the codec
// writes now (grey and RGB, tile sizes 64..512, one tile and many, edge
// tiles of odd sizes, quality 0..100, every metadata box type and unknown
// ones), through the C API of the main build's libmsic.
//
//   msic-fuzz-seeds OUT_DIR      (OUT_DIR is created; files NAME.msic)
#include <msic/msic.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct BoxData {
  std::string type;
  std::vector<uint8_t> data;
};

std::vector<uint8_t> bytes(const std::string &s) { return {s.begin(), s.end()}; }

std::vector<uint8_t> f64(std::initializer_list<double> values) {
  std::vector<uint8_t> out;
  for (double v : values) {
    uint64_t u;
    memcpy(&u, &v, 8);
    for (int i = 0; i < 8; ++i) out.push_back(uint8_t(u >> (8 * i)));
  }
  return out;
}

// A small but plausible ICC header (libvips attaches the blob as it is).
std::vector<uint8_t> icc() {
  std::vector<uint8_t> p(132, 0);
  p[3] = 132;
  memcpy(&p[4], "lcms", 4);
  p[8] = 4;
  p[9] = 0x30;
  memcpy(&p[12], "mntr", 4);
  memcpy(&p[16], "RGB ", 4);
  memcpy(&p[20], "XYZ ", 4);
  memcpy(&p[36], "acsp", 4);
  return p;
}

// "Exif\0\0" and a little-endian TIFF block with one IFD entry (Orientation = 1).
std::vector<uint8_t> exif() {
  const uint8_t e[] = {'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 1,
                       3,   0,   1,   0,   0, 0, 1,   0,   0,  0, 0, 0, 0, 0, 0, 0};
  return {e, e + sizeof e};
}

const char *kXmp =
    "<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x='adobe:ns:meta/'>"
    "<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description "
    "xmlns:tiff='http://ns.adobe.com/tiff/1.0/' tiff:Orientation='1'/></rdf:RDF></x:xmpmeta>"
    "<?xpacket end='w'?>";
const char *kWkt =
    "GEOGCS[\"WGS 84\",DATUM[\"WGS_1984\",SPHEROID[\"WGS 84\",6378137,298.257223563]],"
    "PRIMEM[\"Greenwich\",0],UNIT[\"degree\",0.0174532925199433],AUTHORITY[\"EPSG\",\"4326\"]]";

std::vector<BoxData> photo_boxes() {
  return {{MSIC_BOX_ICC, icc()},
          {MSIC_BOX_EXIF, exif()},
          {MSIC_BOX_XMP, bytes(kXmp)},
          {MSIC_BOX_RESOLUTION, f64({2.834645669, 2.834645669})}};
}

std::vector<BoxData> geo_boxes(int bands) {
  std::string desc = bands == 1 ? std::string("elevation\0", 10) : std::string("red\0green\0blue\0", 15);
  std::string kv = std::string("\0AREA_OR_POINT\0Point\0", 21) + std::string("MY_DOMAIN\0key\0value\0", 20);
  return {{MSIC_BOX_GEOTRANSFORM, f64({440720.0, 60.0, 0.0, 3751320.0, 0.0, -60.0})},
          {MSIC_BOX_NODATA, f64({0.0})},
          {MSIC_BOX_CRS_WKT, bytes(kWkt)},
          {MSIC_BOX_BAND_DESC, bytes(desc)},
          {MSIC_BOX_KEYVALUE, bytes(kv)}};
}

// A GDAL mask as the last band (ROLE) and two ground control points (GCPS).
std::vector<BoxData> mask_and_gcp_boxes() {
  std::vector<uint8_t> gcps = {2, 0, 0, 0};
  const double points[2][5] = {{0.5, 0.5, -47.9, -15.8, 1100}, {69.5, 39.5, -47.8, -15.9, 1000}};
  for (const auto &point : points) {
    const std::vector<uint8_t> v = f64({point[0], point[1], point[2], point[3], point[4]});
    gcps.insert(gcps.end(), v.begin(), v.end());
    for (const char *s : {"id", "info"}) gcps.insert(gcps.end(), s, s + strlen(s) + 1);
  }
  const char *wkt = "GEOGCS[\"WGS 84\",DATUM[\"WGS_1984\",SPHEROID[\"WGS 84\",6378137,298.257223563]],"
                    "PRIMEM[\"Greenwich\",0],UNIT[\"degree\",0.0174532925199433]]";
  gcps.insert(gcps.end(), wkt, wkt + strlen(wkt));
  return {{MSIC_BOX_BAND_ROLES, {MSIC_BAND_DATA, MSIC_BAND_DATA, MSIC_BAND_ALPHA, MSIC_BAND_MASK}},
          {MSIC_BOX_GCPS, gcps}};
}

std::vector<BoxData> unknown_boxes() {
  return {{"ZZZZ", bytes("a box no reader knows")}, {"abcd", {}}, {MSIC_BOX_NODATA, f64({-9999.0})}};
}

// Gradients, a few edges and a little noise: cheap to code, not flat.
std::vector<uint8_t> pixels(uint32_t w, uint32_t h, uint32_t bands) {
  std::vector<uint8_t> p(size_t(w) * h * bands);
  uint32_t seed = 12345;
  for (uint32_t y = 0; y < h; ++y)
    for (uint32_t x = 0; x < w; ++x)
      for (uint32_t c = 0; c < bands; ++c) {
        seed = seed * 1103515245u + 12345u;
        double v = 128 + 90 * std::sin(0.05 * (x + 2.0 * c) + 0.03 * y) + ((x / 24 + y / 24) % 2 ? 20 : -20) +
                   int(seed >> 28) - 8;
        p[(size_t(y) * w + x) * bands + c] = uint8_t(v < 0 ? 0 : v > 255 ? 255 : v);
      }
  return p;
}

// Encodes the pixels with the settings (destroyed here) and writes
// DIR/NAME.msic.
bool encode_and_write(msic_context *ctx, const std::string &dir, const char *name, const msic_image_info &info,
                      const std::vector<uint8_t> &px, msic_encoder_settings *settings,
                      const std::vector<BoxData> &boxes) {
  std::vector<msic_box> b(boxes.size());
  for (size_t i = 0; i < boxes.size(); ++i) {
    memcpy(b[i].type, boxes[i].type.data(), 4);
    b[i].data = boxes[i].data.data();
    b[i].size = boxes[i].data.size();
  }
  uint8_t *out = nullptr;
  size_t size = 0;
  const size_t stride = size_t(info.width) * info.bands * (info.bit_depth / 8);
  msic_status st = msic_encode_image(ctx, &info, px.data(), stride, settings, b.data(), b.size(), &out, &size);
  msic_encoder_settings_destroy(settings);
  if (st != MSIC_OK) {
    fprintf(stderr, "%s: encode: %s\n", name, msic_last_error());
    return false;
  }
  std::string path = dir + "/" + name + ".msic";
  FILE *f = fopen(path.c_str(), "wb");
  bool ok = f && fwrite(out, 1, size, f) == size;
  if (f && fclose(f) != 0) ok = false;
  msic_free(out);
  if (!ok) fprintf(stderr, "cannot write %s\n", path.c_str());
  return ok;
}

bool write_seed(msic_context *ctx, const std::string &dir, const char *name, uint32_t w, uint32_t h,
                uint32_t bands, uint32_t tile, double quality, const std::vector<BoxData> &boxes,
                uint32_t overviews = MSIC_OVERVIEWS_DEFAULT) {
  msic_image_info info{};
  info.width = w;
  info.height = h;
  info.bands = bands;
  info.bit_depth = 8;
  msic_encoder_settings *settings = nullptr;
  if (msic_encoder_settings_new(&settings) != MSIC_OK ||
      msic_encoder_settings_set(settings, MSIC_ENCODER_QUALITY, quality) != MSIC_OK ||
      msic_encoder_settings_set(settings, MSIC_ENCODER_TILE_SIZE, tile) != MSIC_OK ||
      msic_encoder_settings_set(settings, MSIC_ENCODER_OVERVIEWS, overviews) != MSIC_OK) {
    fprintf(stderr, "%s: settings: %s\n", name, msic_last_error());
    msic_encoder_settings_destroy(settings);
    return false;
  }
  return encode_and_write(ctx, dir, name, info, pixels(w, h, bands), settings, boxes);
}

// Exact and bounded-error seeds (tile codec 2): samples of `format` and
// `depth` made from the 8-bit pattern, spread over the type's range.
bool write_exact_seed(msic_context *ctx, const std::string &dir, const char *name, uint32_t w, uint32_t h,
                      uint32_t bands, uint32_t format, uint32_t depth, double max_error,
                      const std::vector<BoxData> &boxes, uint32_t overviews = MSIC_OVERVIEWS_DEFAULT) {
  msic_image_info info{};
  info.width = w, info.height = h, info.bands = bands, info.bit_depth = depth, info.sample_format = format;
  const std::vector<uint8_t> base = pixels(w, h, bands);
  const size_t bytes = depth / 8;
  std::vector<uint8_t> px(base.size() * bytes);
  for (size_t i = 0; i < base.size(); ++i) {
    if (format == MSIC_SAMPLE_FLOAT) {
      const float f = float(base[i]) * 3.25f - 100.0f;
      memcpy(&px[i * 4], &f, 4);
    } else if (depth == 16) {
      const uint16_t v = uint16_t(format == MSIC_SAMPLE_SIGNED ? int(base[i]) * 200 - 25000 : base[i] * 257);
      memcpy(&px[i * 2], &v, 2);
    } else if (depth == 32) {
      const uint32_t v = uint32_t(int64_t(base[i]) * 16000000 - (format == MSIC_SAMPLE_SIGNED ? 2000000000 : 0));
      memcpy(&px[i * 4], &v, 4);
    } else {
      px[i] = base[i];
    }
  }
  msic_encoder_settings *settings = nullptr;
  if (msic_encoder_settings_new(&settings) != MSIC_OK ||
      msic_encoder_settings_set(settings, MSIC_ENCODER_TILE_SIZE, 64) != MSIC_OK ||
      msic_encoder_settings_set(settings, MSIC_ENCODER_OVERVIEWS, overviews) != MSIC_OK ||
      msic_encoder_settings_set(settings, max_error > 0 ? MSIC_ENCODER_MAX_ERROR : MSIC_ENCODER_LOSSLESS,
                                max_error > 0 ? max_error : 1) != MSIC_OK) {
    fprintf(stderr, "%s: settings: %s\n", name, msic_last_error());
    msic_encoder_settings_destroy(settings);
    return false;
  }
  return encode_and_write(ctx, dir, name, info, px, settings, boxes);
}

}  // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  std::string dir = argv[1];
  mkdir(dir.c_str(), 0777);
  msic_context *ctx = nullptr;
  if (msic_context_new(nullptr, &ctx) != MSIC_OK) {
    fprintf(stderr, "msic_context_new: %s\n", msic_last_error());
    return 1;
  }
  std::vector<BoxData> none;
  std::vector<BoxData> all = photo_boxes();
  for (auto &g : geo_boxes(3)) all.push_back(g);
  for (auto &u : unknown_boxes()) all.push_back(u);
  bool ok = true;
  //                    name                  width height bands tile quality boxes
  ok &= write_seed(ctx, dir, "rgb-t64-1tile", 40, 33, 3, 64, 75, none);
  // Exact and bounded error:   name              width height bands format depth max_error boxes
  ok &= write_exact_seed(ctx, dir, "exact-u8-4b", 70, 40, 4, MSIC_SAMPLE_UNSIGNED, 8, 0, none);
  ok &= write_exact_seed(ctx, dir, "exact-u16-3b-e2", 90, 70, 3, MSIC_SAMPLE_UNSIGNED, 16, 2, none);
  ok &= write_exact_seed(ctx, dir, "exact-s16-nodata-e3", 70, 70, 2, MSIC_SAMPLE_SIGNED, 16, 3,
                         {{MSIC_BOX_NODATA, f64({-25000.0})}});
  ok &= write_exact_seed(ctx, dir, "exact-f32-nodata-e05", 66, 30, 1, MSIC_SAMPLE_FLOAT, 32, 0.5,
                         {{MSIC_BOX_NODATA, f64({-100.0})}});
  ok &= write_exact_seed(ctx, dir, "exact-f32-bits", 40, 40, 2, MSIC_SAMPLE_FLOAT, 32, 0, none);
  ok &= write_exact_seed(ctx, dir, "exact-s32-8b", 20, 20, 8, MSIC_SAMPLE_SIGNED, 32, 0, none);
  ok &= write_exact_seed(ctx, dir, "exact-u8-mask-gcps", 70, 40, 4, MSIC_SAMPLE_UNSIGNED, 8, 2,
                         mask_and_gcp_boxes());
  // Reduced levels (1.3): 1/2, 1/4 (and the mask's, for GDAL's overviews).
  ok &= write_exact_seed(ctx, dir, "exact-u8-mask-levels", 200, 140, 4, MSIC_SAMPLE_UNSIGNED, 8, 2,
                         mask_and_gcp_boxes(), 1);
  ok &= write_seed(ctx, dir, "rgb-t64-levels", 200, 130, 3, 64, 40, none, 1);
  ok &= write_seed(ctx, dir, "grey-t64-3x2", 150, 100, 1, 64, 50, none);
  ok &= write_seed(ctx, dir, "rgb-t64-3x2-photo", 130, 70, 3, 64, 75, photo_boxes());
  ok &= write_seed(ctx, dir, "rgb-t64-4x4", 256, 256, 3, 64, 30, none);
  ok &= write_seed(ctx, dir, "grey-t80-2x2", 100, 90, 1, 80, 60, none);
  ok &= write_seed(ctx, dir, "rgb-t128-2x2", 200, 140, 3, 128, 60, none);
  ok &= write_seed(ctx, dir, "grey-t256-2x1-geo", 300, 40, 1, 256, 60, geo_boxes(1));
  ok &= write_seed(ctx, dir, "rgb-t256-geo", 70, 50, 3, 256, 70, geo_boxes(3));
  ok &= write_seed(ctx, dir, "rgb-t512-1tile-unknown", 96, 64, 3, 512, 75, unknown_boxes());
  ok &= write_seed(ctx, dir, "rgb-t512-2x1", 520, 24, 3, 512, 40, none);
  ok &= write_seed(ctx, dir, "grey-t512-1x2", 20, 530, 1, 512, 40, none);
  ok &= write_seed(ctx, dir, "rgb-t64-q0", 64, 64, 3, 64, 0, none);
  ok &= write_seed(ctx, dir, "rgb-t64-q100", 48, 48, 3, 64, 100, none);
  ok &= write_seed(ctx, dir, "grey-t64-q100", 33, 17, 1, 64, 100, none);
  ok &= write_seed(ctx, dir, "grey-1x1", 1, 1, 1, 64, 75, none);
  ok &= write_seed(ctx, dir, "rgb-1x1", 1, 1, 3, 64, 75, none);
  ok &= write_seed(ctx, dir, "rgb-t64-1x4-thin", 3, 200, 3, 64, 75, none);
  ok &= write_seed(ctx, dir, "grey-t64-5x1-thin", 300, 2, 1, 64, 75, none);
  ok &= write_seed(ctx, dir, "rgb-t64-all-boxes", 64, 64, 3, 64, 75, all);
  ok &= write_seed(ctx, dir, "grey-t64-all-boxes", 65, 65, 1, 64, 55, all);
  msic_context_destroy(ctx);
  return ok ? 0 : 1;
}
