// Lossless and bounded-error coding (tile codec 2) through the C API: every
// sample format and band count, the bound on every sample, nodata kept,
// and no model needed to read the files.
#include <gtest/gtest.h>
#include <msic/msic.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "container.h"
#include "test_support.h"

namespace {

struct Raster {
  msic_image_info info{};
  std::vector<uint8_t> bytes;
  size_t stride() const { return size_t(info.width) * info.bands * (info.bit_depth / 8); }
  size_t samples() const { return size_t(info.width) * info.height * info.bands; }
};

// A raster with structure: smooth fields, edges and noise, bands correlated
// like a multispectral scene's, spanning most of the format's range.
Raster make_raster(uint32_t w, uint32_t h, uint32_t bands, uint32_t format, uint32_t depth, uint32_t seed = 1) {
  Raster r;
  r.info.width = w, r.info.height = h, r.info.bands = bands, r.info.bit_depth = depth, r.info.sample_format = format;
  r.bytes.resize(r.samples() * (depth / 8));
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0, 1);
  double lo = 0, hi = 255;
  if (format == MSIC_SAMPLE_FLOAT) lo = -500, hi = 3000;
  else if (format == MSIC_SAMPLE_SIGNED) lo = -(std::ldexp(1.0, int(depth) - 1)), hi = std::ldexp(1.0, int(depth) - 1) - 1;
  else hi = std::ldexp(1.0, int(depth)) - 1;
  for (uint32_t y = 0; y < h; ++y)
    for (uint32_t x = 0; x < w; ++x) {
      const double field = 0.5 + 0.3 * std::sin(x * 0.05) * std::cos(y * 0.07) + ((x / 23 + y / 17) % 2) * 0.1;
      for (uint32_t b = 0; b < bands; ++b) {
        double t = field * (0.7 + 0.05 * b) + 0.1 * std::sin((x + 3 * b) * 0.3) + 0.01 * noise(rng);
        t = std::min(1.0, std::max(0.0, t));
        const double v = lo + t * (hi - lo);
        uint8_t *p = r.bytes.data() + ((size_t(y) * w + x) * bands + b) * (depth / 8);
        if (format == MSIC_SAMPLE_FLOAT) {
          float f = float(v);
          memcpy(p, &f, 4);
        } else if (depth == 8) {
          *p = uint8_t(int64_t(std::llround(v)));
        } else if (depth == 16) {
          uint16_t s = uint16_t(int64_t(std::llround(v)));
          memcpy(p, &s, 2);
        } else {
          uint32_t s = uint32_t(int64_t(std::llround(v)));
          memcpy(p, &s, 4);
        }
      }
    }
  return r;
}

double sample_value(const Raster &r, const std::vector<uint8_t> &bytes, size_t i) {
  const uint8_t *p = bytes.data() + i * (r.info.bit_depth / 8);
  const bool s = r.info.sample_format == MSIC_SAMPLE_SIGNED;
  switch (r.info.bit_depth) {
    case 8: return s ? double(int8_t(*p)) : double(*p);
    case 16: {
      uint16_t v;
      memcpy(&v, p, 2);
      return s ? double(int16_t(v)) : double(v);
    }
    default: {
      uint32_t v;
      memcpy(&v, p, 4);
      if (r.info.sample_format == MSIC_SAMPLE_FLOAT) {
        float f;
        memcpy(&f, p, 4);
        return f;
      }
      return s ? double(int32_t(v)) : double(v);
    }
  }
}

std::vector<uint8_t> encode(const Raster &r, double lossless, double max_error, uint32_t tile = 64,
                            const std::vector<msic_box> &boxes = {}) {
  msic_encoder_settings *s = nullptr;
  EXPECT_EQ(msic_encoder_settings_new(&s), MSIC_OK);
  msic_encoder_settings_set(s, MSIC_ENCODER_TILE_SIZE, tile);
  if (lossless) EXPECT_EQ(msic_encoder_settings_set(s, MSIC_ENCODER_LOSSLESS, 1), MSIC_OK);
  if (max_error > 0) EXPECT_EQ(msic_encoder_settings_set(s, MSIC_ENCODER_MAX_ERROR, max_error), MSIC_OK);
  uint8_t *out = nullptr;
  size_t size = 0;
  msic_status st = msic_encode_image(nullptr, &r.info, r.bytes.data(), r.stride(), s, boxes.data(), boxes.size(),
                                     &out, &size);
  msic_encoder_settings_destroy(s);
  EXPECT_EQ(st, MSIC_OK) << msic_last_error();
  std::vector<uint8_t> file(out, out + size);
  msic_free(out);
  return file;
}

std::vector<uint8_t> decode(const Raster &r, const std::vector<uint8_t> &file, msic_context *ctx = nullptr) {
  msic_reader *rd = nullptr;
  EXPECT_EQ(msic_reader_new_memory(ctx, file.data(), file.size(), &rd), MSIC_OK) << msic_last_error();
  std::vector<uint8_t> out(r.bytes.size());
  if (rd)
    EXPECT_EQ(msic_reader_decode_region(rd, 0, 0, r.info.width, r.info.height, out.data(), r.stride()), MSIC_OK)
        << msic_last_error();
  msic_reader_close(rd);
  return out;
}

struct Kind {
  uint32_t format, depth;
  const char *name;
};
const Kind kKinds[] = {{MSIC_SAMPLE_UNSIGNED, 8, "Byte"},    {MSIC_SAMPLE_UNSIGNED, 16, "UInt16"},
                       {MSIC_SAMPLE_SIGNED, 16, "Int16"},    {MSIC_SAMPLE_UNSIGNED, 32, "UInt32"},
                       {MSIC_SAMPLE_SIGNED, 32, "Int32"},    {MSIC_SAMPLE_FLOAT, 32, "Float32"}};
const uint32_t kBandCounts[] = {1, 3, 4, 8};

TEST(Exact, LosslessIsExactForEveryFormatAndBandCount) {
  for (const Kind &k : kKinds)
    for (uint32_t bands : kBandCounts) {
      SCOPED_TRACE(std::string(k.name) + " x " + std::to_string(bands));
      // 150 x 90 with 64-px tiles: edge tiles on both sides.
      Raster r = make_raster(150, 90, bands, k.format, k.depth);
      std::vector<uint8_t> file = encode(r, 1, 0);
      EXPECT_EQ(decode(r, file), r.bytes);
      EXPECT_LT(file.size(), r.bytes.size()) << "lossless should compress this raster";
    }
}

TEST(Exact, EverySampleIsWithinTheBound) {
  for (const Kind &k : kKinds)
    for (uint32_t bands : {1u, 3u, 8u})
      for (double e : {1.0, 2.0, 4.0, 0.25}) {
        if (k.format != MSIC_SAMPLE_FLOAT && e != std::floor(e)) continue;
        SCOPED_TRACE(std::string(k.name) + " x " + std::to_string(bands) + " e=" + std::to_string(e));
        Raster r = make_raster(130, 70, bands, k.format, k.depth, 7);
        std::vector<uint8_t> file = encode(r, 0, e);
        std::vector<uint8_t> out = decode(r, file);
        double worst = 0;
        bool any_change = false;
        for (size_t i = 0; i < r.samples(); ++i) {
          const double d = std::fabs(sample_value(r, out, i) - sample_value(r, r.bytes, i));
          worst = std::max(worst, d);
          any_change |= d > 0;
        }
        EXPECT_LE(worst, e);
        EXPECT_TRUE(any_change) << "a bound of " << e << " that changes nothing is not bounded-error coding";
        std::vector<uint8_t> exact = encode(r, 1, 0);
        EXPECT_LT(file.size(), exact.size()) << "the bound should buy bytes";
      }
}

TEST(Exact, FloatSpecialValuesSurviveLossless) {
  Raster r = make_raster(70, 20, 2, MSIC_SAMPLE_FLOAT, 32);
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(), -0.0f, std::numeric_limits<float>::denorm_min(),
                            std::numeric_limits<float>::max(), -std::numeric_limits<float>::max()};
  for (size_t i = 0; i < 7; ++i) memcpy(r.bytes.data() + (i * 37) * 4, &specials[i], 4);
  uint32_t payload_nan = 0x7fc01234;
  memcpy(r.bytes.data() + 400 * 4, &payload_nan, 4);
  EXPECT_EQ(decode(r, encode(r, 1, 0)), r.bytes);
  // With a NaN nodata box, lossless keeps every NaN's bits (nodata or not).
  {
    const double nan_nodata = std::numeric_limits<double>::quiet_NaN();
    uint8_t nd[8];
    memcpy(nd, &nan_nodata, 8);
    msic_box box{{'N', 'O', 'D', 'T'}, nd, 8};
    EXPECT_EQ(decode(r, encode(r, 1, 0, 64, {box})), r.bytes);
  }
  // With a bound, a tile with such values is coded exactly; the others within it.
  std::vector<uint8_t> out = decode(r, encode(r, 0, 0.5));
  for (size_t i = 0; i < r.samples(); ++i) {
    float a, b;
    memcpy(&a, r.bytes.data() + i * 4, 4);
    memcpy(&b, out.data() + i * 4, 4);
    if (std::isfinite(a)) EXPECT_LE(std::fabs(double(a) - double(b)), 0.5) << i;
    else EXPECT_EQ(memcmp(&a, &b, 4), 0) << i;
  }
}

// A nodata collar around valid data, some of it within the bound of nodata.
Raster collared(uint32_t format, uint32_t depth, double nodata) {
  Raster r = make_raster(120, 100, 3, format, depth, 3);
  for (uint32_t y = 0; y < 100; ++y)
    for (uint32_t x = 0; x < 120; ++x)
      for (uint32_t b = 0; b < 3; ++b) {
        uint8_t *p = r.bytes.data() + ((size_t(y) * 120 + x) * 3 + b) * (depth / 8);
        double v;
        if (x + y < 40 || x > 100) v = nodata;                              // collar
        else if ((x + y) % 5 == 0) v = nodata + 1 + (x % 3);                // just above nodata
        else continue;
        if (format == MSIC_SAMPLE_FLOAT) {
          float f = float(v);
          memcpy(p, &f, 4);
        } else if (depth == 8) {
          *p = uint8_t(v);
        } else {
          uint16_t s = uint16_t(int16_t(v));
          memcpy(p, &s, 2);
        }
      }
  return r;
}

TEST(Exact, NodataStaysExactAndValidSamplesNeverBecomeNodata) {
  struct Case { uint32_t format, depth; double nodata, e; };
  for (Case c : {Case{MSIC_SAMPLE_UNSIGNED, 8, 0, 2}, Case{MSIC_SAMPLE_UNSIGNED, 8, 0, 4},
                 Case{MSIC_SAMPLE_SIGNED, 16, -9999, 3}, Case{MSIC_SAMPLE_FLOAT, 32, -9999, 2.5},
                 Case{MSIC_SAMPLE_UNSIGNED, 8, 0, 0}}) {
    SCOPED_TRACE("nodata " + std::to_string(c.nodata) + " e " + std::to_string(c.e));
    Raster r = collared(c.format, c.depth, c.nodata);
    msic_box box{{'N', 'O', 'D', 'T'}, nullptr, 8};
    uint8_t nd[8];
    memcpy(nd, &c.nodata, 8);  // little-endian machines, as the box is
    box.data = nd;
    std::vector<uint8_t> out = decode(r, encode(r, c.e == 0, c.e, 64, {box}));
    size_t nodata = 0;
    for (size_t i = 0; i < r.samples(); ++i) {
      const double want = sample_value(r, r.bytes, i), got = sample_value(r, out, i);
      if (want == c.nodata) {
        ++nodata;
        EXPECT_EQ(got, c.nodata) << i;
      } else {
        EXPECT_NE(got, c.nodata) << i;
        EXPECT_LE(std::fabs(got - want), c.e) << i;
      }
    }
    EXPECT_GT(nodata, 1000u);
  }
}

TEST(Exact, AlphaAndMaskBandsAreExactWhateverTheBound) {
  // The last band an alpha (graded, like an anti-aliased edge) or a GDAL
  // mask (0 / 255): with a bound that would move them, they stay exact.
  for (const Kind &k : kKinds)
    for (uint8_t role : {uint8_t(MSIC_BAND_ALPHA), uint8_t(MSIC_BAND_MASK)}) {
      SCOPED_TRACE(std::string(k.name) + " role " + std::to_string(role));
      const double e = k.format == MSIC_SAMPLE_FLOAT ? 2.5 : 4;
      Raster r = make_raster(130, 70, 4, k.format, k.depth, 3);
      const Raster shape = make_raster(130, 70, 1, MSIC_SAMPLE_UNSIGNED, 8, 5);
      for (size_t i = 0; i < size_t(130) * 70; ++i) {
        // Values 0 .. 255 fit every kind; a mask only 0 or 255.
        double a = shape.bytes[i];
        if (role == MSIC_BAND_MASK) a = a > 128 ? 255 : 0;
        uint8_t *p = r.bytes.data() + (i * 4 + 3) * (k.depth / 8);
        if (k.format == MSIC_SAMPLE_FLOAT) {
          const float f = float(a);
          memcpy(p, &f, 4);
        } else {
          memset(p, 0, k.depth / 8);
          *p = uint8_t(a);  // little-endian, as the pixels are
        }
      }
      const uint8_t roles[4] = {MSIC_BAND_DATA, MSIC_BAND_DATA, MSIC_BAND_DATA, role};
      const msic_box box{{'R', 'O', 'L', 'E'}, roles, 4};
      std::vector<uint8_t> out = decode(r, encode(r, 0, e, 64, {box}));
      size_t moved = 0;
      for (size_t i = 0; i < r.samples(); ++i) {
        const double want = sample_value(r, r.bytes, i), got = sample_value(r, out, i);
        if (i % 4 == 3) {
          ASSERT_EQ(got, want) << "sample " << i;
        } else {
          ASSERT_LE(std::fabs(got - want), e) << "sample " << i;
          moved += got != want;
        }
      }
      EXPECT_GT(moved, r.samples() / 8) << "the data bands should use the bound";
    }
}

TEST(Exact, RefusesRolesItCannotKeep) {
  Raster r = make_raster(40, 30, 3, MSIC_SAMPLE_UNSIGNED, 8);
  auto refused = [&](const std::vector<uint8_t> &roles, double max_error) {
    const msic_box box{{'R', 'O', 'L', 'E'}, roles.data(), roles.size()};
    msic_encoder_settings *s = nullptr;
    msic_encoder_settings_new(&s);
    if (max_error > 0) msic_encoder_settings_set(s, MSIC_ENCODER_MAX_ERROR, max_error);
    uint8_t *out = nullptr;
    size_t size = 0;
    const msic_status st = msic_encode_image(nullptr, &r.info, r.bytes.data(), r.stride(), s, &box, 1, &out, &size);
    msic_encoder_settings_destroy(s);
    msic_free(out);
    return st == MSIC_ERR_ARGUMENT;
  };
  EXPECT_TRUE(refused({0, 0}, 2)) << "a role per band";
  EXPECT_TRUE(refused({0, 0, 7}, 2)) << "unknown role";
  EXPECT_TRUE(refused({0, 2, 0}, 2)) << "a mask that is not the last band";
  EXPECT_TRUE(refused({0, 0, 1}, 0)) << "the learned coding cannot keep alpha exact";
  EXPECT_FALSE(refused({0, 0, 2}, 2));
}

TEST(Exact, NodataThatIntegersCannotHoldIsHarmless) {
  // A NaN or 1e30 NODT box on integer samples: no sample can be nodata, so
  // nothing is masked (and nothing converts NaN to an integer, which UBSan
  // in CI would catch).
  Raster r = make_raster(90, 70, 2, MSIC_SAMPLE_UNSIGNED, 16, 4);
  for (double nodata : {std::numeric_limits<double>::quiet_NaN(), 1e30, -5.0}) {
    uint8_t nd[8];
    memcpy(nd, &nodata, 8);
    msic_box box{{'N', 'O', 'D', 'T'}, nd, 8};
    EXPECT_EQ(decode(r, encode(r, 1, 0, 64, {box})), r.bytes);
    std::vector<uint8_t> out = decode(r, encode(r, 0, 2, 64, {box}));
    for (size_t i = 0; i < r.samples(); ++i)
      ASSERT_LE(std::fabs(sample_value(r, out, i) - sample_value(r, r.bytes, i)), 2) << i;
  }
}

TEST(Exact, FilesNeedNoModelAndSayHowTheyWereCoded) {
  Raster r = make_raster(100, 60, 4, MSIC_SAMPLE_UNSIGNED, 16);
  r.info.valid_bits = 16;
  std::vector<uint8_t> file = encode(r, 0, 3);
  msic_reader *rd = nullptr;
  ASSERT_EQ(msic_reader_new_memory(nullptr, file.data(), file.size(), &rd), MSIC_OK);
  msic_file_info fi;
  ASSERT_EQ(msic_reader_get_info(rd, &fi), MSIC_OK);
  EXPECT_EQ(fi.coding, uint32_t(MSIC_CODING_MAX_ERROR));
  EXPECT_EQ(fi.max_error, 3.0);
  EXPECT_EQ(fi.image.bands, 4u);
  EXPECT_EQ(fi.image.bit_depth, 16u);
  EXPECT_EQ(fi.image.sample_format, uint32_t(MSIC_SAMPLE_UNSIGNED));
  EXPECT_EQ(fi.image.valid_bits, 16u);
  EXPECT_EQ(fi.format_version, (1u << 16) | 2u);
  EXPECT_EQ(std::string(fi.model_hash), std::string(64, '0'));
  msic_reader_close(rd);
  // A context with another model decodes it all the same.
  msic_context *other = nullptr;
  ASSERT_EQ(msic_context_new(MSIC_DEFAULT_MODEL_FILE, &other), MSIC_OK);
  std::vector<uint8_t> a = decode(r, file), b = decode(r, file, other);
  EXPECT_EQ(a, b);
  msic_context_destroy(other);
}

TEST(Exact, RefusesWhatItCannotKeep) {
  msic_encoder_settings *s = nullptr;
  ASSERT_EQ(msic_encoder_settings_new(&s), MSIC_OK);
  EXPECT_EQ(msic_encoder_settings_set(s, MSIC_ENCODER_MAX_ERROR, -1), MSIC_ERR_ARGUMENT);
  EXPECT_EQ(msic_encoder_settings_set(s, MSIC_ENCODER_LOSSLESS, 2), MSIC_ERR_ARGUMENT);
  uint8_t *out = nullptr;
  size_t size = 0;
  // A 12-bit raster with a sample beyond 12 bits.
  Raster r = make_raster(64, 64, 1, MSIC_SAMPLE_UNSIGNED, 16);
  r.info.valid_bits = 12;
  for (size_t i = 0; i < r.samples(); ++i) {
    uint16_t v = uint16_t(i % 4096);
    memcpy(r.bytes.data() + 2 * i, &v, 2);
  }
  uint16_t big = 4096;
  memcpy(r.bytes.data() + 2 * 100, &big, 2);
  ASSERT_EQ(msic_encoder_settings_set(s, MSIC_ENCODER_LOSSLESS, 1), MSIC_OK);
  EXPECT_EQ(msic_encode_image(nullptr, &r.info, r.bytes.data(), r.stride(), s, nullptr, 0, &out, &size),
            MSIC_ERR_ARGUMENT);
  EXPECT_NE(std::string(msic_last_error()).find("outside the UInt16 (12 valid bits) range"), std::string::npos)
      << msic_last_error();
  // A fractional bound on integer samples.
  ASSERT_EQ(msic_encoder_settings_set(s, MSIC_ENCODER_LOSSLESS, 0), MSIC_OK);
  ASSERT_EQ(msic_encoder_settings_set(s, MSIC_ENCODER_MAX_ERROR, 1.5), MSIC_OK);
  r.info.valid_bits = 0;
  EXPECT_EQ(msic_encode_image(nullptr, &r.info, r.bytes.data(), r.stride(), s, nullptr, 0, &out, &size),
            MSIC_ERR_ARGUMENT);
  // The learned coding refuses 16-bit samples and 4 bands, and says what takes them.
  msic_encoder_settings_destroy(s);
  EXPECT_EQ(msic_encode_image(nullptr, &r.info, r.bytes.data(), r.stride(), nullptr, nullptr, 0, &out, &size),
            MSIC_ERR_UNSUPPORTED);
  EXPECT_NE(std::string(msic_last_error()).find("lossless"), std::string::npos) << msic_last_error();
  Raster rgba = make_raster(64, 64, 4, MSIC_SAMPLE_UNSIGNED, 8);
  EXPECT_EQ(msic_encode_image(nullptr, &rgba.info, rgba.bytes.data(), rgba.stride(), nullptr, nullptr, 0, &out, &size),
            MSIC_ERR_UNSUPPORTED);
}

TEST(Exact, DamagedPayloadsFailCleanly) {
  Raster r = make_raster(64, 64, 3, MSIC_SAMPLE_UNSIGNED, 16);
  std::vector<uint8_t> file = encode(r, 0, 2);
  msic_reader *rd = nullptr;
  ASSERT_EQ(msic_reader_new_memory(nullptr, file.data(), file.size(), &rd), MSIC_OK);
  msic_file_info fi;
  ASSERT_EQ(msic_reader_get_info(rd, &fi), MSIC_OK);
  msic_reader_close(rd);
  // Flip bytes of the payload and fix its CRCs, so that the codec itself
  // must notice (or decode garbage within the format's range, never crash).
  std::mt19937 rng(5);
  std::vector<uint8_t> out(r.bytes.size());
  int failures = 0;
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<uint8_t> bad = file;
    // The single tile's payload starts after header and frame; the index
    // entry is 48 bytes from the end.
    const size_t index = bad.size() - 32 - 16;
    uint64_t off;
    uint32_t len;
    memcpy(&off, bad.data() + index, 8);
    memcpy(&len, bad.data() + index + 8, 4);
    const size_t at = off + rng() % len;
    bad[at] ^= uint8_t(1 + rng() % 255);
    const uint32_t crc = msic::format::crc32(bad.data() + off, len);
    memcpy(bad.data() + index + 12, &crc, 4);
    memcpy(bad.data() + off - 4, &crc, 4);
    const uint32_t index_crc = msic::format::crc32(bad.data() + index, 16);
    memcpy(bad.data() + bad.size() - 32 + 12, &index_crc, 4);
    ASSERT_EQ(msic_reader_new_memory(nullptr, bad.data(), bad.size(), &rd), MSIC_OK) << msic_last_error();
    if (msic_reader_decode_region(rd, 0, 0, 64, 64, out.data(), r.stride()) != MSIC_OK) {
      EXPECT_EQ(msic_last_status(), MSIC_ERR_FORMAT) << msic_last_error();
      ++failures;
    }
    msic_reader_close(rd);
  }
  EXPECT_GT(failures, 100);
}

}  // namespace
