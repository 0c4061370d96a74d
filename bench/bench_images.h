// What the in-process benchmarks share: an 8-bit RGB image read through
// libvips (exits on failure), and a monotonic clock in seconds.
#pragma once
#include <vips/vips.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace bench {
struct Image {
  std::string path;
  int width, height;
  std::vector<uint8_t> rgb;
};

inline Image load(const char *path) {
  VipsImage *im = vips_image_new_from_file(path, NULL);
  if (!im) {
    fprintf(stderr, "%s: %s", path, vips_error_buffer());
    exit(1);
  }
  if (vips_image_get_bands(im) != 3 || im->BandFmt != VIPS_FORMAT_UCHAR) {
    fprintf(stderr, "%s: need 8-bit RGB\n", path);
    exit(1);
  }
  size_t n;
  void *px = vips_image_write_to_memory(im, &n);
  Image out{path, im->Xsize, im->Ysize, std::vector<uint8_t>((uint8_t *)px, (uint8_t *)px + n)};
  g_free(px);
  g_object_unref(im);
  return out;
}

inline double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace bench
