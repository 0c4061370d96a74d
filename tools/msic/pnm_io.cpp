// Binary PGM and PPM (P5, P6) in and out, with libvips's rules (libvips
// 8.14, foreign/ppmload.c): samples kept as they are, 8-bit up to a
// maximum of 255, else 16-bit (big-endian in the file). Other PNM kinds
// (ASCII, bitmaps, PAM, PFM) go through libvips.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <vector>

#include "image_io.h"

namespace msic_cli {
namespace {

constexpr bool kLittleEndian = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

// The next whitespace-separated number of the header, skipping comments.
bool header_number(FILE *f, unsigned long *value) {
  int c = fgetc(f);
  for (;;) {
    while (c != EOF && isspace(c)) c = fgetc(f);
    if (c != '#') break;
    while (c != EOF && c != '\n' && c != '\r') c = fgetc(f);
  }
  if (c == EOF || !isdigit(c)) return false;
  unsigned long v = 0;
  for (; c != EOF && isdigit(c); c = fgetc(f)) {
    if (v > 100000000) return false;
    v = v * 10 + unsigned(c - '0');
  }
  *value = v;
  // Exactly one whitespace byte ends the header's last number.
  return c != EOF && isspace(c);
}

class PnmInput final : public ImageInput {
 public:
  ~PnmInput() override {
    if (file_) fclose(file_);
  }

  // Null without an error for anything but a binary PGM/PPM with a
  // maximum of 1 .. 65535 (libvips reads the rest, or says why not).
  static std::unique_ptr<PnmInput> open(const std::string &path, std::string *) {
    FILE *f = fopen(path.c_str(), "rb");
    if (!f) return nullptr;
    std::unique_ptr<PnmInput> in(new PnmInput);
    in->file_ = f;
    char magic[2];
    if (fread(magic, 1, 2, f) != 2 || magic[0] != 'P' || (magic[1] != '5' && magic[1] != '6')) return nullptr;
    unsigned long width, height, max;
    if (!header_number(f, &width) || !header_number(f, &height) || !header_number(f, &max) || width == 0 ||
        height == 0 || width > 10000000 || height > 10000000 || max == 0 || max > 65535)
      return nullptr;
    in->info_.width = uint32_t(width);
    in->info_.height = uint32_t(height);
    in->info_.bands = magic[1] == '5' ? 1 : 3;
    in->info_.bit_depth = max > 255 ? 16 : 8;
    in->info_.sample_format = MSIC_SAMPLE_UNSIGNED;
    return in;
  }

  const msic_image_info &info() const override { return info_; }

  bool add_boxes(msic_writer *w, bool, std::string *error) override {
    const double resolution[2] = {1.0, 1.0};  // libvips's default; PNM has none
    if (msic_writer_add_f64_box(w, MSIC_BOX_RESOLUTION, resolution, 2) == MSIC_OK) return true;
    *error = msic_last_error();
    return false;
  }

  bool read_rows(uint32_t rows, uint8_t *dst, size_t stride, std::string *error) override {
    const size_t row = size_t(info_.width) * info_.bands * (info_.bit_depth / 8);
    for (uint32_t i = 0; i < rows; ++i) {
      uint8_t *p = dst + i * stride;
      if (fread(p, 1, row, file_) != row) {
        *error = ferror(file_) ? strerror(errno) : "the PNM data ends early";
        return false;
      }
      if (info_.bit_depth == 16 && kLittleEndian)
        for (size_t k = 0; k < row; k += 2) std::swap(p[k], p[k + 1]);
    }
    return true;
  }

 private:
  FILE *file_ = nullptr;
  msic_image_info info_{};
};

}  // namespace

std::unique_ptr<ImageInput> open_pnm(const std::string &path, std::string *error) {
  return PnmInput::open(path, error);
}

bool pnm_takes(const std::string &path, const msic_image_info &info) {
  const bool grey = info.bands == 1, rgb = info.bands == 3;
  return info.sample_format == MSIC_SAMPLE_UNSIGNED && (info.bit_depth == 8 || info.bit_depth == 16) &&
         ((output_suffix_is(path, "pgm") && grey) || (output_suffix_is(path, "ppm") && rgb) ||
          (output_suffix_is(path, "pnm") && (grey || rgb)));
}

bool write_pnm(const std::string &path, const msic_image_info &info, DecodedRows &rows, std::string *error) {
  const size_t stride = size_t(info.width) * info.bands * (info.bit_depth / 8);
  const uint32_t band = std::min(rows.rows_per_read(), info.height);
  std::vector<uint8_t> buf(stride * band);  // before the file exists: bad_alloc leaves nothing behind
  return write_file(path, error, [&](FILE *f, std::string *why) {
    fprintf(f, "P%c\n%u %u\n%u\n", info.bands == 1 ? '5' : '6', info.width, info.height,
            info.bit_depth == 16 ? 65535u : 255u);
    for (uint32_t y = 0; y < info.height; y += band) {
      const uint32_t n = std::min(band, info.height - y);
      if (!rows.read(y, n, buf.data(), stride, why)) return false;
      if (info.bit_depth == 16 && kLittleEndian)
        for (size_t k = 0; k < stride * n; k += 2) std::swap(buf[k], buf[k + 1]);
      if (fwrite(buf.data(), 1, stride * n, f) != stride * n) return *why = strerror(errno), false;
    }
    return true;
  });
}

}  // namespace msic_cli
