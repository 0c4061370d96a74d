// Shared helpers for the core tests: images, temporary folders; PSNR
// (test::psnr) comes from tests/common.
#pragma once
#include <gtest/gtest.h>
#include <msic/msic.h>
#include <vips/vips.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "../common/psnr.h"

namespace test {

struct Image {
  uint32_t width = 0, height = 0, bands = 0;
  std::vector<uint8_t> pixels;
  size_t stride() const { return size_t(width) * bands; }
  msic_image_info info() const { return {width, height, bands, 8}; }
};

inline Image load(const std::string &path) {
  VipsImage *im = vips_image_new_from_file(path.c_str(), NULL);
  if (!im) {
    fprintf(stderr, "cannot load %s: %s\n", path.c_str(), vips_error_buffer());
    abort();
  }
  size_t n;
  void *px = vips_image_write_to_memory(im, &n);
  Image out{uint32_t(im->Xsize), uint32_t(im->Ysize), uint32_t(im->Bands),
            std::vector<uint8_t>((uint8_t *)px, (uint8_t *)px + n)};
  g_free(px);
  g_object_unref(im);
  return out;
}

inline Image crop(const Image &im, uint32_t x, uint32_t y, uint32_t w, uint32_t h) {
  Image out{w, h, im.bands, {}};
  for (uint32_t r = 0; r < h; ++r) {
    const uint8_t *src = im.pixels.data() + (size_t(y + r) * im.width + x) * im.bands;
    out.pixels.insert(out.pixels.end(), src, src + size_t(w) * im.bands);
  }
  return out;
}

inline Image kodim23() { return load(std::string(MSIC_TEST_DATA_DIR) + "/kodim23.png"); }

// A fresh folder under /tmp, removed when the test process exits.
inline std::string temp_dir() {
  static std::vector<std::string> made;
  static bool registered = false;
  if (!registered) {
    registered = true;
    atexit([] {
      for (const std::string &d : made) std::filesystem::remove_all(d);
    });
  }
  char tmpl[] = "/tmp/msic-test-XXXXXX";
  made.push_back(mkdtemp(tmpl));
  return made.back();
}

inline std::vector<uint8_t> encode(msic_context *ctx, const Image &im, float quality, uint32_t tile = 512,
                                   int threads = 0) {
  msic_encode_options o;
  msic_encode_options_init(&o);
  o.quality = quality;
  o.tile_size = tile;
  o.threads = threads;
  uint8_t *buf = nullptr;
  size_t size = 0;
  msic_image_info info = im.info();
  if (msic_encode_to_memory(ctx, &info, im.pixels.data(), im.stride(), &o, nullptr, 0, &buf, &size) != MSIC_OK) {
    fprintf(stderr, "encode failed: %s\n", msic_last_error());
    abort();
  }
  std::vector<uint8_t> out(buf, buf + size);
  msic_free(buf);
  return out;
}

// The image encoded (the default model) at an encoder effort: effort 1's
// files are those of the encoders before the border boost (payload
// versions 1 .. 3).
inline std::vector<uint8_t> encode_at_effort(const Image &im, int effort, float quality,
                                             uint32_t tile = MSIC_TILE_SIZE_DEFAULT) {
  const msic_image_info info = im.info();
  msic_encoder_settings *settings = nullptr;
  EXPECT_EQ(msic_encoder_settings_new(&settings), MSIC_OK);
  EXPECT_EQ(msic_encoder_settings_set(settings, MSIC_ENCODER_QUALITY, quality), MSIC_OK);
  EXPECT_EQ(msic_encoder_settings_set(settings, MSIC_ENCODER_TILE_SIZE, tile), MSIC_OK);
  EXPECT_EQ(msic_encoder_settings_set(settings, MSIC_ENCODER_EFFORT, effort), MSIC_OK);
  uint8_t *buf = nullptr;
  size_t size = 0;
  EXPECT_EQ(msic_encode_image(nullptr, &info, im.pixels.data(), im.stride(), settings, nullptr, 0, &buf, &size),
            MSIC_OK)
      << msic_last_error();
  msic_encoder_settings_destroy(settings);
  std::vector<uint8_t> file(buf, buf + size);
  msic_free(buf);
  return file;
}

inline std::vector<uint8_t> decode(msic_context *ctx, const std::vector<uint8_t> &file, msic_status *status = nullptr) {
  msic_reader *r = msic_reader_open_memory(ctx, file.data(), file.size());
  if (!r) {
    if (status) *status = MSIC_ERR_FORMAT;
    return {};
  }
  msic_file_info fi;
  msic_reader_get_info(r, &fi);
  std::vector<uint8_t> px(size_t(fi.image.width) * fi.image.height * fi.image.bands);
  msic_status s = msic_reader_decode_region(r, 0, 0, fi.image.width, fi.image.height, px.data(),
                                            size_t(fi.image.width) * fi.image.bands);
  msic_reader_close(r);
  if (status) *status = s;
  if (s != MSIC_OK) px.clear();
  return px;
}

// The random-weights model that exercises every path (made by msic-test-model).
inline std::string random_model_path() {
  static std::string path;
  if (path.empty()) {
    path = temp_dir() + "/random.msicw";
    std::string cmd = std::string(MSIC_TEST_MODEL_TOOL) + " " + path;
    if (system(cmd.c_str()) != 0) abort();
  }
  return path;
}

}  // namespace test
