// The parts of the C API that let it grow: version, encoder settings set by
// id, reserved fields, openers that return a status, tile batches and
// float64 boxes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "test_support.h"

namespace {
test::Image stripes(uint32_t w, uint32_t h) {
  test::Image im{w, h, 3, std::vector<uint8_t>(size_t(w) * h * 3)};
  for (size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = uint8_t((i * 7 + (i / (w * 3)) * 3) & 255);
  return im;
}

struct Settings {
  msic_encoder_settings *s = nullptr;
  Settings() { EXPECT_EQ(msic_encoder_settings_new(&s), MSIC_OK); }
  ~Settings() { msic_encoder_settings_destroy(s); }
};

// Encodes through the settings object.
std::vector<uint8_t> encode_with(const test::Image &im, const msic_encoder_settings *settings) {
  msic_image_info info = im.info();
  uint8_t *buf = nullptr;
  size_t size = 0;
  EXPECT_EQ(msic_encode_image(nullptr, &info, im.pixels.data(), im.stride(), settings, nullptr, 0, &buf, &size),
            MSIC_OK)
      << msic_last_error();
  std::vector<uint8_t> out(buf, buf + size);
  msic_free(buf);
  return out;
}
}  // namespace

// The embedded model's hash is baked in at build time (default_model.S.in);
// it must be the SHA-256 of the model file the build embedded.
TEST(Api, TheEmbeddedModelsHashIsItsSha256) {
  msic_context *from_file = nullptr;
  ASSERT_EQ(msic_context_new(MSIC_DEFAULT_MODEL_FILE, &from_file), MSIC_OK) << msic_last_error();
  EXPECT_STREQ(msic_context_model_hash(nullptr), msic_context_model_hash(from_file));
  msic_context_destroy(from_file);
}

TEST(Api, VersionMacrosMatchTheLibrary) {
  EXPECT_EQ(msic_version(), uint32_t(MSIC_VERSION));
  std::string expect = std::to_string(MSIC_VERSION_MAJOR) + "." + std::to_string(MSIC_VERSION_MINOR) + "." +
                       std::to_string(MSIC_VERSION_PATCH);
  EXPECT_EQ(expect, msic_version_string());
}

TEST(Api, SettingsCheckEveryOptionWhereItIsSet) {
  Settings st;
  double v = -1;
  ASSERT_EQ(msic_encoder_settings_get(st.s, MSIC_ENCODER_QUALITY, &v), MSIC_OK);
  EXPECT_EQ(v, MSIC_QUALITY_DEFAULT);
  ASSERT_EQ(msic_encoder_settings_get(st.s, MSIC_ENCODER_TILE_SIZE, &v), MSIC_OK);
  EXPECT_EQ(v, MSIC_TILE_SIZE_AUTO);

  EXPECT_EQ(msic_encoder_settings_set(st.s, MSIC_ENCODER_QUALITY, 100.5), MSIC_ERR_ARGUMENT);
  EXPECT_NE(std::string(msic_last_error()).find("quality"), std::string::npos);
  EXPECT_EQ(msic_encoder_settings_set(st.s, MSIC_ENCODER_TILE_SIZE, 72), MSIC_ERR_ARGUMENT);
  EXPECT_NE(std::string(msic_last_error()).find("multiple of 16 in [64, 4096]"), std::string::npos)
      << msic_last_error();
  EXPECT_EQ(msic_encoder_settings_set(st.s, MSIC_ENCODER_TILE_SIZE, 128.5), MSIC_ERR_ARGUMENT);
  EXPECT_EQ(msic_encoder_settings_set(st.s, MSIC_ENCODER_THREADS, -1), MSIC_ERR_ARGUMENT);
  EXPECT_EQ(msic_encoder_settings_set(st.s, msic_encoder_option(999), 1), MSIC_ERR_UNSUPPORTED);
  EXPECT_EQ(msic_last_status(), MSIC_ERR_UNSUPPORTED);
  // A refused value leaves the option as it was.
  ASSERT_EQ(msic_encoder_settings_get(st.s, MSIC_ENCODER_TILE_SIZE, &v), MSIC_OK);
  EXPECT_EQ(v, MSIC_TILE_SIZE_AUTO);
}

// The default tile size (MSIC_TILE_SIZE_AUTO): an image of 513 to 1024 px
// on its longer side is one 1024-px tile, any other gets 512-px tiles; a
// size set is kept. The writer says which before the first row.
TEST(Api, TheAutomaticTileSizeMakesAnImageOfUpTo1024PxOneTile) {
  auto tile_size = [](uint32_t w, uint32_t h, double setting) {
    Settings st;
    EXPECT_EQ(msic_encoder_settings_set(st.s, MSIC_ENCODER_TILE_SIZE, setting), MSIC_OK) << msic_last_error();
    msic_image_info info = stripes(1, 1).info();
    info.width = w, info.height = h;
    msic_writer *writer = nullptr;
    auto sink = [](void *, const void *, size_t) { return 0; };
    EXPECT_EQ(msic_writer_new_stream(nullptr, sink, nullptr, &info, st.s, &writer), MSIC_OK) << msic_last_error();
    const uint32_t size = msic_writer_tile_size(writer);
    msic_writer_destroy(writer);
    return size;
  };
  EXPECT_EQ(tile_size(100, 60, MSIC_TILE_SIZE_AUTO), 512u);
  EXPECT_EQ(tile_size(512, 512, MSIC_TILE_SIZE_AUTO), 512u);
  EXPECT_EQ(tile_size(513, 16, MSIC_TILE_SIZE_AUTO), 1024u);
  EXPECT_EQ(tile_size(768, 512, MSIC_TILE_SIZE_AUTO), 1024u);
  EXPECT_EQ(tile_size(200, 1024, MSIC_TILE_SIZE_AUTO), 1024u);
  EXPECT_EQ(tile_size(1025, 300, MSIC_TILE_SIZE_AUTO), 512u);
  EXPECT_EQ(tile_size(768, 512, 512), 512u);
  EXPECT_EQ(tile_size(100, 60, 2048), 2048u);
  EXPECT_EQ(msic_writer_tile_size(nullptr), 0u);

  msic_encode_options opts;
  msic_encode_options_init(&opts);
  EXPECT_EQ(opts.tile_size, uint32_t(MSIC_TILE_SIZE_AUTO));

  // Through the whole path: one tile.
  const test::Image im = stripes(600, 96);
  const msic_image_info info = im.info();
  uint8_t *buf = nullptr;
  size_t size = 0;
  ASSERT_EQ(msic_encode_image(nullptr, &info, im.pixels.data(), im.stride(), nullptr, nullptr, 0, &buf, &size), MSIC_OK)
      << msic_last_error();
  msic_reader *r = msic_reader_open_memory(nullptr, buf, size);
  ASSERT_NE(r, nullptr) << msic_last_error();
  msic_file_info fi;
  ASSERT_EQ(msic_reader_get_info(r, &fi), MSIC_OK);
  EXPECT_EQ(fi.tile_size, 1024u);
  EXPECT_EQ(fi.tiles_across * fi.tiles_down, 1u);
  msic_reader_close(r);
  msic_free(buf);
}

TEST(Api, SettingsAndTheShorthandStructWriteTheSameFile) {
  test::Image im = stripes(150, 90);
  Settings st;
  ASSERT_EQ(msic_encoder_settings_set(st.s, MSIC_ENCODER_QUALITY, 33), MSIC_OK);
  ASSERT_EQ(msic_encoder_settings_set(st.s, MSIC_ENCODER_TILE_SIZE, 64), MSIC_OK);
  EXPECT_EQ(encode_with(im, st.s), test::encode(nullptr, im, 33, 64));
}

// The quality asked for maps to the model's quality, which the file records
// in hundredths (formats/MSIC.md); the file reports both, and asking for
// the quality it reports writes the same file again.
TEST(Api, AFileReportsTheQualityAskedForAndRecordsTheModels) {
  const test::Image im = stripes(64, 64);
  double previous = -1;
  for (double q : {0.0, 5.0, 12.5, 40.0, 75.0, 90.0, 99.9, 100.0}) {
    Settings st;
    ASSERT_EQ(msic_encoder_settings_set(st.s, MSIC_ENCODER_QUALITY, q), MSIC_OK);
    ASSERT_EQ(msic_encoder_settings_set(st.s, MSIC_ENCODER_TILE_SIZE, 64), MSIC_OK);
    const std::vector<uint8_t> file = encode_with(im, st.s);
    msic_reader *r = msic_reader_open_memory(nullptr, file.data(), file.size());
    ASSERT_NE(r, nullptr) << msic_last_error();
    msic_file_info info;
    ASSERT_EQ(msic_reader_get_info(r, &info), MSIC_OK);
    msic_reader_close(r);
    EXPECT_NEAR(info.quality, q, 0.02) << q;
    EXPECT_EQ(info.model_quality, std::round(info.model_quality * 100) / 100) << q;
    EXPECT_GT(info.model_quality, previous) << q;  // the scale rises strictly
    previous = info.model_quality;
    if (q == 0 || q == 100) EXPECT_EQ(info.model_quality, q);

    Settings again;
    ASSERT_EQ(msic_encoder_settings_set(again.s, MSIC_ENCODER_QUALITY, info.quality), MSIC_OK);
    ASSERT_EQ(msic_encoder_settings_set(again.s, MSIC_ENCODER_TILE_SIZE, 64), MSIC_OK);
    EXPECT_EQ(encode_with(im, again.s), file) << q;
  }
}

TEST(Api, ReservedFieldsMustBeZero) {
  test::Image im = stripes(64, 64);
  msic_image_info info = im.info();
  info.reserved[3] = 1;
  uint8_t *buf = nullptr;
  size_t size = 0;
  EXPECT_EQ(msic_encode_image(nullptr, &info, im.pixels.data(), im.stride(), nullptr, nullptr, 0, &buf, &size),
            MSIC_ERR_ARGUMENT);
  EXPECT_NE(std::string(msic_last_error()).find("reserved"), std::string::npos);
  EXPECT_EQ(buf, nullptr);
}

TEST(Api, OpenersReturnTheirStatus) {
  msic_reader *r = reinterpret_cast<msic_reader *>(1);
  EXPECT_EQ(msic_reader_new_file(nullptr, "/nonexistent/x.msic", &r), MSIC_ERR_IO);
  EXPECT_EQ(r, nullptr);
  const uint8_t junk[200] = {1, 2, 3};
  EXPECT_EQ(msic_reader_new_memory(nullptr, junk, sizeof junk, &r), MSIC_ERR_FORMAT);
  EXPECT_EQ(r, nullptr);
  msic_context *ctx = reinterpret_cast<msic_context *>(1);
  EXPECT_EQ(msic_context_new("/nonexistent/model.msicw", &ctx), MSIC_ERR_MODEL);
  EXPECT_EQ(ctx, nullptr);
  // The shorthand keeps the status for msic_last_status().
  EXPECT_EQ(msic_reader_open_memory(nullptr, junk, sizeof junk), nullptr);
  EXPECT_EQ(msic_last_status(), MSIC_ERR_FORMAT);
}

TEST(Api, TileBatchEqualsTilesOneByOne) {
  test::Image im = stripes(200, 150);
  std::vector<uint8_t> file = test::encode(nullptr, im, 60, 64);
  msic_reader *r = nullptr;
  ASSERT_EQ(msic_reader_new_memory(nullptr, file.data(), file.size(), &r), MSIC_OK) << msic_last_error();
  const uint32_t tx[] = {3, 0, 1, 2}, ty[] = {2, 0, 1, 0};
  const size_t stride = 64 * 3;
  std::vector<std::vector<uint8_t>> batch(4, std::vector<uint8_t>(64 * stride)), single = batch;
  uint8_t *out[4];
  for (int i = 0; i < 4; ++i) out[i] = batch[i].data();
  ASSERT_EQ(msic_reader_decode_tiles(r, 4, tx, ty, out, stride, 2), MSIC_OK) << msic_last_error();
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(msic_reader_decode_tile(r, tx[i], ty[i], single[i].data(), stride), MSIC_OK);
    EXPECT_EQ(batch[i], single[i]) << "tile " << i;
  }
  const uint32_t bad_x[] = {0, 9}, bad_y[] = {0, 0};
  EXPECT_EQ(msic_reader_decode_tiles(r, 2, bad_x, bad_y, out, stride, 0), MSIC_ERR_ARGUMENT);
  EXPECT_NE(std::string(msic_last_error()).find("(9, 0)"), std::string::npos) << msic_last_error();
  msic_reader_close(r);
}

TEST(Api, Float64BoxesAreLittleEndian) {
  test::Image im = stripes(64, 64);
  std::vector<uint8_t> bytes;
  msic_writer *w = nullptr;
  msic_image_info info = im.info();
  auto sink = [](void *user, const void *d, size_t n) {
    auto *b = static_cast<std::vector<uint8_t> *>(user);
    b->insert(b->end(), static_cast<const uint8_t *>(d), static_cast<const uint8_t *>(d) + n);
    return 0;
  };
  ASSERT_EQ(msic_writer_new_stream(nullptr, sink, &bytes, &info, nullptr, &w), MSIC_OK) << msic_last_error();
  const double res[2] = {11.811023622047244, 0.5};
  ASSERT_EQ(msic_writer_add_f64_box(w, MSIC_BOX_RESOLUTION, res, 2), MSIC_OK);
  ASSERT_EQ(msic_writer_write_rows(w, im.pixels.data(), im.stride(), im.height), MSIC_OK);
  ASSERT_EQ(msic_writer_finish(w), MSIC_OK);
  msic_writer_destroy(w);

  msic_reader *r = nullptr;
  ASSERT_EQ(msic_reader_new_memory(nullptr, bytes.data(), bytes.size(), &r), MSIC_OK);
  msic_box box;
  ASSERT_EQ(msic_reader_find_box(r, MSIC_BOX_RESOLUTION, &box), MSIC_OK);
  ASSERT_EQ(box.size, 16u);
  // 0.5 is 0x3FE0000000000000: little-endian puts 0xE0 0x3F last.
  const uint8_t half_le[8] = {0, 0, 0, 0, 0, 0, 0xE0, 0x3F};
  EXPECT_EQ(memcmp(box.data + 8, half_le, 8), 0);
  double back[2];
  ASSERT_EQ(msic_box_get_f64(&box, back, 2), MSIC_OK);
  EXPECT_EQ(back[0], res[0]);
  EXPECT_EQ(back[1], res[1]);
  EXPECT_EQ(msic_box_get_f64(&box, back, 1), MSIC_ERR_FORMAT);
  char type[4];
  uint64_t size = 0;
  ASSERT_EQ(msic_reader_get_box_header(r, 0, type, &size), MSIC_OK);
  EXPECT_EQ(std::string(type, 4), MSIC_BOX_RESOLUTION);
  EXPECT_EQ(size, 16u);
  EXPECT_EQ(msic_reader_get_box_header(r, 1, type, &size), MSIC_ERR_ARGUMENT);
  msic_reader_close(r);
}
