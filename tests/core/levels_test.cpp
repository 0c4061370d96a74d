// Reduced levels (MSIC.md, "Reduced levels"): which levels a file stores,
// that each decodes alone, what its pixels are (the 2 x 2 reduction rules,
// checked exactly through the lossless coding, and against a reduced full
// decode for the learned coding), and that files with levels stay readable
// as before.

#include <gtest/gtest.h>

#include <msic/msic.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

std::vector<uint8_t> encode(const msic_image_info &info, const std::vector<uint8_t> &px,
                            const std::vector<std::pair<msic_encoder_option, double>> &options,
                            const std::vector<msic_box> &boxes = {}) {
  msic_encoder_settings *s = nullptr;
  EXPECT_EQ(msic_encoder_settings_new(&s), MSIC_OK);
  for (const auto &o : options) EXPECT_EQ(msic_encoder_settings_set(s, o.first, o.second), MSIC_OK) << o.first;
  uint8_t *out = nullptr;
  size_t size = 0;
  const size_t stride = size_t(info.width) * info.bands * (info.bit_depth / 8);
  const msic_status st =
      msic_encode_image(nullptr, &info, px.data(), stride, s, boxes.data(), boxes.size(), &out, &size);
  msic_encoder_settings_destroy(s);
  EXPECT_EQ(st, MSIC_OK) << msic_last_error();
  std::vector<uint8_t> file(out, out + size);
  msic_free(out);
  return file;
}

// Owns the file's bytes: a memory reader reads them until it is closed.
struct Reader {
  std::vector<uint8_t> bytes;
  msic_reader *r = nullptr;
  explicit Reader(std::vector<uint8_t> file, msic_context *ctx = nullptr) : bytes(std::move(file)) {
    EXPECT_EQ(msic_reader_new_memory(ctx, bytes.data(), bytes.size(), &r), MSIC_OK) << msic_last_error();
  }
  Reader(const Reader &) = delete;
  Reader &operator=(const Reader &) = delete;
  ~Reader() { msic_reader_close(r); }
  msic_file_info info() const {
    msic_file_info i{};
    EXPECT_EQ(msic_reader_get_info(r, &i), MSIC_OK);
    return i;
  }
  msic_level_info level(uint32_t l) const {
    msic_level_info i{};
    EXPECT_EQ(msic_reader_get_level(r, l, &i), MSIC_OK) << msic_last_error();
    return i;
  }
  std::vector<uint8_t> decode(uint32_t l, size_t pixel_bytes) {
    const msic_level_info li = level(l);
    std::vector<uint8_t> out(size_t(li.width) * li.height * pixel_bytes);
    EXPECT_EQ(msic_reader_decode_level_region(r, l, 0, 0, li.width, li.height, out.data(), li.width * pixel_bytes),
              MSIC_OK)
        << msic_last_error();
    return out;
  }
};

// A photograph-like 8-bit RGB image: smooth fields, edges and noise.
std::vector<uint8_t> photo(uint32_t w, uint32_t h) {
  std::vector<uint8_t> px(size_t(w) * h * 3);
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> noise(-3, 3);
  for (uint32_t y = 0; y < h; ++y)
    for (uint32_t x = 0; x < w; ++x)
      for (uint32_t c = 0; c < 3; ++c) {
        double v = 128 + 60 * std::sin(x * 0.013 + c) * std::cos(y * 0.017) + ((x / 97 + y / 61) % 2) * 40;
        px[(size_t(y) * w + x) * 3 + c] = uint8_t(std::clamp(int(v) + noise(rng), 0, 255));
      }
  return px;
}

// The reduction rules of MSIC.md written plainly: 2 x 2 means (rounded half
// away from zero) over the valid pixels, the mask band the largest value.
std::vector<uint16_t> reduce_u16(const std::vector<uint16_t> &in, uint32_t w, uint32_t h, uint32_t bands,
                                 uint32_t &ow, uint32_t &oh, int nodata, int mask_band) {
  ow = (w + 1) / 2, oh = (h + 1) / 2;
  std::vector<uint16_t> out(size_t(ow) * oh * bands);
  for (uint32_t y = 0; y < oh; ++y)
    for (uint32_t x = 0; x < ow; ++x)
      for (uint32_t b = 0; b < bands; ++b) {
        double sum = 0;
        int used = 0, top = 0;
        for (uint32_t yy = 2 * y; yy < std::min(h, 2 * y + 2); ++yy)
          for (uint32_t xx = 2 * x; xx < std::min(w, 2 * x + 2); ++xx) {
            const size_t p = (size_t(yy) * w + xx) * bands;
            const int v = in[p + b];
            top = std::max(top, v);
            const bool valid = v != nodata && (mask_band < 0 || in[p + size_t(mask_band)] != 0);
            if (valid) sum += v, ++used;
          }
        int v;
        if (int(b) == mask_band)
          v = top;
        else if (used)
          v = int(std::llround(sum / used)), v = v == nodata ? v + 1 : v;
        else
          v = nodata;
        out[(size_t(y) * ow + x) * bands + b] = uint16_t(v);
      }
  return out;
}

TEST(Levels, WhichLevelsAFileStores) {
  // 1000 x 700 in tiles of 64: 1/8 is 125 x 88, 1/16 is 63 x 44, one tile.
  const uint32_t w = 1000, h = 700;
  msic_image_info info{};
  info.width = w, info.height = h, info.bands = 3, info.bit_depth = 8;
  const std::vector<uint8_t> px = photo(w, h);
  Reader dflt(encode(info, px, {{MSIC_ENCODER_TILE_SIZE, 64}, {MSIC_ENCODER_QUALITY, 50}}));
  ASSERT_EQ(dflt.info().levels, 1u) << "by default from 1/16";
  EXPECT_EQ(dflt.level(1).scale_log2, 4u);
  Reader eighth(
      encode(info, px, {{MSIC_ENCODER_TILE_SIZE, 64}, {MSIC_ENCODER_QUALITY, 50}, {MSIC_ENCODER_OVERVIEWS, 3}}));
  const Reader &r = eighth;
  ASSERT_EQ(r.info().levels, 2u);
  EXPECT_EQ(r.info().format_version, (1u << 16) | 5u) << "tiles with a border boost: 1.5";
  const msic_level_info l1 = r.level(1), l2 = r.level(2);
  EXPECT_EQ(l1.scale_log2, 3u);
  EXPECT_EQ(l1.width, 125u);
  EXPECT_EQ(l1.height, 88u);
  EXPECT_EQ(l1.tiles_across * l1.tiles_down, 4u);
  EXPECT_EQ(l2.scale_log2, 4u);
  EXPECT_EQ(l2.width, 63u);
  EXPECT_EQ(l2.height, 44u);
  EXPECT_EQ(r.level(0).width, w);
  msic_level_info none{};
  EXPECT_EQ(msic_reader_get_level(r.r, 3, &none), MSIC_ERR_ARGUMENT);

  Reader from_half(encode(info, px, {{MSIC_ENCODER_TILE_SIZE, 64}, {MSIC_ENCODER_OVERVIEWS, 1}}));
  EXPECT_EQ(from_half.info().levels, 4u);  // 1/2, 1/4, 1/8, 1/16
  Reader without(encode(info, px, {{MSIC_ENCODER_TILE_SIZE, 64}, {MSIC_ENCODER_OVERVIEWS, 0}}));
  EXPECT_EQ(without.info().levels, 0u);
  EXPECT_EQ(without.info().format_version, (1u << 16) | 5u);
  // Effort 1 boosts no border: the versions before 1.5.
  Reader plain(encode(info, px, {{MSIC_ENCODER_TILE_SIZE, 64}, {MSIC_ENCODER_OVERVIEWS, 0}, {MSIC_ENCODER_EFFORT, 1}}));
  EXPECT_EQ(plain.info().format_version, (1u << 16) | 1u) << "learned files without levels stay 1.1";
  Reader parted(encode(info, px, {{MSIC_ENCODER_TILE_SIZE, 512}, {MSIC_ENCODER_OVERVIEWS, 1}, {MSIC_ENCODER_EFFORT, 1}}));
  EXPECT_EQ(parted.info().levels, 1u);  // 1/2: one tile
  EXPECT_EQ(parted.info().format_version, (1u << 16) | 4u) << "tiles in parts, with levels: 1.4";
  // One tile: nothing to reduce.
  msic_image_info small = info;
  small.width = 60, small.height = 50;
  Reader one(encode(small, photo(60, 50), {{MSIC_ENCODER_TILE_SIZE, 64}}));
  EXPECT_EQ(one.info().levels, 0u);
}

TEST(Levels, ALevelDecodesAloneAndMatchesAReducedFullDecode) {
  const uint32_t w = 1000, h = 700;
  msic_image_info info{};
  info.width = w, info.height = h, info.bands = 3, info.bit_depth = 8;
  const std::vector<uint8_t> px = photo(w, h);
  const std::vector<uint8_t> with =
      encode(info, px, {{MSIC_ENCODER_TILE_SIZE, 64}, {MSIC_ENCODER_QUALITY, 75}, {MSIC_ENCODER_OVERVIEWS, 3}});
  const std::vector<uint8_t> without =
      encode(info, px, {{MSIC_ENCODER_TILE_SIZE, 64}, {MSIC_ENCODER_QUALITY, 75}, {MSIC_ENCODER_OVERVIEWS, 0}});
  EXPECT_LT(with.size(), without.size() * 110 / 100) << "1/8 and 1/16 should cost under 10%";

  Reader r(with);
  const std::vector<uint8_t> level = r.decode(1, 3);
  EXPECT_EQ(msic_reader_tiles_decoded(r.r), 0u) << "a level read decodes no tile of the image";
  EXPECT_EQ(msic_reader_level_tiles_decoded(r.r, 1), 4u);
  EXPECT_EQ(msic_reader_level_tiles_decoded(r.r, 2), 0u);

  // Against the full decode reduced 8 x 8 (means of the pixels inside).
  const std::vector<uint8_t> full = r.decode(0, 3);
  EXPECT_EQ(full, Reader(without).decode(0, 3)) << "the image's tiles are the same with or without levels";
  double se = 0;
  const msic_level_info li = r.level(1);
  for (uint32_t y = 0; y < li.height; ++y)
    for (uint32_t x = 0; x < li.width; ++x)
      for (uint32_t c = 0; c < 3; ++c) {
        double sum = 0;
        int n = 0;
        for (uint32_t yy = 8 * y; yy < std::min(h, 8 * y + 8); ++yy)
          for (uint32_t xx = 8 * x; xx < std::min(w, 8 * x + 8); ++xx, ++n) sum += full[(size_t(yy) * w + xx) * 3 + c];
        const double d = sum / n - level[(size_t(y) * li.width + x) * 3 + c];
        se += d * d;
      }
  const double psnr = 10 * std::log10(255.0 * 255.0 / (se / (size_t(li.width) * li.height * 3)));
  EXPECT_GT(psnr, 30.0) << "level 1/8 against the reduced full decode";
}

TEST(Levels, ReductionKeepsNodataAndMasksApart) {
  // 4 UInt16 bands, the last a mask (ROLE), nodata 0 in a collar: coded
  // losslessly, each level is exactly the reduction of the one above.
  const uint32_t w = 300, h = 210, bands = 4;
  msic_image_info info{};
  info.width = w, info.height = h, info.bands = bands, info.bit_depth = 16;
  std::vector<uint16_t> img(size_t(w) * h * bands);
  std::mt19937 rng(5);
  for (uint32_t y = 0; y < h; ++y)
    for (uint32_t x = 0; x < w; ++x) {
      uint16_t *p = &img[(size_t(y) * w + x) * bands];
      const bool collar = x + y < 90;
      for (uint32_t b = 0; b < 3; ++b) p[b] = collar ? 0 : uint16_t(1 + (x * 37 + y * 11 * (b + 1) + rng() % 50) % 60000);
      p[3] = ((x / 13) * (y / 7)) % 5 == 0 ? 0 : 255;
    }
  std::vector<uint8_t> px(img.size() * 2);
  memcpy(px.data(), img.data(), px.size());
  const double nodata = 0;
  uint8_t nd[8];
  memcpy(nd, &nodata, 8);
  const uint8_t roles[4] = {MSIC_BAND_DATA, MSIC_BAND_DATA, MSIC_BAND_DATA, MSIC_BAND_MASK};
  const std::vector<msic_box> boxes = {{{'N', 'O', 'D', 'T'}, nd, 8}, {{'R', 'O', 'L', 'E'}, roles, 4}};
  Reader r(encode(info, px, {{MSIC_ENCODER_TILE_SIZE, 64}, {MSIC_ENCODER_LOSSLESS, 1}, {MSIC_ENCODER_OVERVIEWS, 1}},
                  boxes));
  ASSERT_EQ(r.info().levels, 3u);  // 150 x 105, 75 x 53, 38 x 27
  std::vector<uint16_t> want = img;
  uint32_t cw = w, ch = h;
  for (uint32_t l = 1; l <= 3; ++l) {
    uint32_t nw, nh;
    want = reduce_u16(want, cw, ch, bands, nw, nh, 0, 3);
    cw = nw, ch = nh;
    const std::vector<uint8_t> got = r.decode(l, bands * 2);
    std::vector<uint16_t> got16(got.size() / 2);
    memcpy(got16.data(), got.data(), got.size());
    ASSERT_EQ(r.level(l).width, cw);
    EXPECT_EQ(got16, want) << "level " << l;
  }
}

TEST(Levels, SignedBytesAndAlphaReduceAsValues) {
  // Signed 8-bit: -1 and +1 average to 0, not to a byte pattern's mean.
  const uint32_t w = 160, h = 96;
  msic_image_info info{};
  info.width = w, info.height = h, info.bands = 1, info.bit_depth = 8, info.sample_format = MSIC_SAMPLE_SIGNED;
  std::vector<uint8_t> px(size_t(w) * h);
  for (uint32_t y = 0; y < h; ++y)
    for (uint32_t x = 0; x < w; ++x) px[size_t(y) * w + x] = uint8_t(int8_t((x + y) % 2 ? -1 : 1));
  Reader r(encode(info, px, {{MSIC_ENCODER_TILE_SIZE, 64}, {MSIC_ENCODER_LOSSLESS, 1}, {MSIC_ENCODER_OVERVIEWS, 1}}));
  ASSERT_GE(r.info().levels, 1u);
  for (uint8_t v : r.decode(1, 1)) ASSERT_EQ(int8_t(v), 0);

  // RGBA with alpha (ROLE): the colour of fully transparent pixels is left
  // out of the means; alpha itself is averaged.
  msic_image_info rgba{};
  rgba.width = w, rgba.height = h, rgba.bands = 4, rgba.bit_depth = 8;
  std::vector<uint8_t> img(size_t(w) * h * 4);
  for (uint32_t y = 0; y < h; ++y)
    for (uint32_t x = 0; x < w; ++x) {
      uint8_t *p = &img[(size_t(y) * w + x) * 4];
      const bool opaque = x % 2 == 0;
      p[0] = opaque ? 200 : 7, p[1] = opaque ? 100 : 250, p[2] = opaque ? 50 : 3, p[3] = opaque ? 255 : 0;
    }
  const uint8_t roles[4] = {MSIC_BAND_DATA, MSIC_BAND_DATA, MSIC_BAND_DATA, MSIC_BAND_ALPHA};
  Reader a(encode(rgba, img, {{MSIC_ENCODER_TILE_SIZE, 64}, {MSIC_ENCODER_LOSSLESS, 1}, {MSIC_ENCODER_OVERVIEWS, 1}},
                  {{{'R', 'O', 'L', 'E'}, roles, 4}}));
  ASSERT_GE(a.info().levels, 1u);
  const std::vector<uint8_t> half = a.decode(1, 4);
  for (size_t i = 0; i < half.size(); i += 4) {
    ASSERT_EQ(half[i], 200);
    ASSERT_EQ(half[i + 1], 100);
    ASSERT_EQ(half[i + 2], 50);
    ASSERT_EQ(half[i + 3], 128);  // (255 + 0 + 255 + 0) / 4, rounded half up
  }
}

TEST(Levels, DamagedLevelDirectoryFailsOrIsDroppedWhenRecovering) {
  const uint32_t w = 400, h = 300;
  msic_image_info info{};
  info.width = w, info.height = h, info.bands = 3, info.bit_depth = 8;
  std::vector<uint8_t> file = encode(info, photo(w, h), {{MSIC_ENCODER_TILE_SIZE, 64}, {MSIC_ENCODER_LOSSLESS, 1},
                                                         {MSIC_ENCODER_OVERVIEWS, 3}});
  // The index entries (16 bytes each) and the trailer end the file; the
  // level directory's CRC sits in the locator just before the index.
  const size_t index_bytes = size_t(7 * 5) * 16;
  const size_t locator = file.size() - 32 - index_bytes - 32;
  ASSERT_EQ(memcmp(file.data() + locator, "MSICLVL", 7), 0);
  file[locator + 24] ^= 0x55;
  msic_reader *r = nullptr;
  EXPECT_EQ(msic_reader_new_memory(nullptr, file.data(), file.size(), &r), MSIC_ERR_CHECKSUM);
  msic_context *ctx = nullptr;
  ASSERT_EQ(msic_context_new(nullptr, &ctx), MSIC_OK);
  ASSERT_EQ(msic_context_set_recover(ctx, 1), MSIC_OK);
  {
    Reader rec(file, ctx);
    EXPECT_EQ(rec.info().levels, 0u);
    EXPECT_EQ(rec.decode(0, 3), photo(w, h)) << "the image itself is intact";
  }
  msic_context_destroy(ctx);
}

}  // namespace
