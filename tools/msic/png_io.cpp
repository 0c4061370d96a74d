// PNG in and out through libpng, with libvips's rules (libvips 8.14,
// foreign/vipspng.c), so that a file reads to the same pixels and boxes
// whether the command or libvips reads it: palettes and tRNS expand to RGB
// and alpha, grey below 8 bits to bytes, 16-bit samples to the machine's
// order; no pHYs means 72 dpi; ICC from iCCP, XMP from the
// "XML:com.adobe.xmp" text. A PNG with EXIF is left to libvips, whose
// saver rewrites EXIF to match the image.
#include <png.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <vector>

#include "image_io.h"

namespace msic_cli {
namespace {

constexpr png_uint_32 kMaxCoord = 10000000;  // libvips's VIPS_MAX_COORD
constexpr bool kLittleEndian = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

// libpng reports errors by longjmp; the message is kept for the caller.
struct PngErrors {
  char message[256] = "";
  static void on_error(png_structp png, png_const_charp msg) {
    auto *e = static_cast<PngErrors *>(png_get_error_ptr(png));
    snprintf(e->message, sizeof e->message, "%s", msg);
    png_longjmp(png, 1);
  }
  static void on_warning(png_structp, png_const_charp) {}
};

class PngInput final : public ImageInput {
 public:
  ~PngInput() override {
    png_destroy_read_struct(&png_, &png_info_, nullptr);
    if (file_) fclose(file_);
  }

  // Null without an error when libvips should read the file instead.
  static std::unique_ptr<PngInput> open(const std::string &path, std::string *error) {
    FILE *f = fopen(path.c_str(), "rb");
    if (!f) return nullptr;  // libvips says why, in its words
    unsigned char sig[8];
    if (fread(sig, 1, 8, f) != 8 || png_sig_cmp(sig, 0, 8)) {
      fclose(f);
      return nullptr;
    }
    std::unique_ptr<PngInput> in(new PngInput);
    in->file_ = f;
    if (!in->start() || !in->header()) {
      *error = in->errors_.message;
      return nullptr;
    }
    if (in->has_exif_) return nullptr;
    return in;
  }

  const msic_image_info &info() const override { return info_; }

  bool add_boxes(msic_writer *w, bool strip, std::string *error) override {
    const double resolution[2] = {xres_, yres_};
    bool ok = msic_writer_add_f64_box(w, MSIC_BOX_RESOLUTION, resolution, 2) == MSIC_OK;
    if (ok && alpha_) {
      std::vector<uint8_t> roles(info_.bands, uint8_t(MSIC_BAND_DATA));
      roles.back() = MSIC_BAND_ALPHA;
      ok = msic_writer_add_box(w, MSIC_BOX_BAND_ROLES, roles.data(), roles.size()) == MSIC_OK;
    }
    if (ok && !strip && !icc_.empty()) ok = msic_writer_add_box(w, MSIC_BOX_ICC, icc_.data(), icc_.size()) == MSIC_OK;
    if (ok && !strip && !xmp_.empty()) ok = msic_writer_add_box(w, MSIC_BOX_XMP, xmp_.data(), xmp_.size()) == MSIC_OK;
    if (!ok) *error = msic_last_error();
    return ok;
  }

  bool read_rows(uint32_t rows, uint8_t *dst, size_t stride, std::string *error) override {
    if (!(interlaced_ ? read_interlaced(rows, dst, stride) : read_sequential(rows, dst, stride))) {
      *error = errors_.message;
      return false;
    }
    return true;
  }

 private:
  PngInput() = default;

  bool start() {
    png_ = png_create_read_struct(PNG_LIBPNG_VER_STRING, &errors_, PngErrors::on_error, PngErrors::on_warning);
    if (!png_ || !(png_info_ = png_create_info_struct(png_))) {
      snprintf(errors_.message, sizeof errors_.message, "out of memory");
      return false;
    }
    return true;
  }

  // Only plain data lives here: libpng may longjmp out of any call.
  bool header() {
    if (setjmp(png_jmpbuf(png_))) return false;
    png_set_option(png_, PNG_SKIP_sRGB_CHECK_PROFILE, PNG_OPTION_ON);
    png_set_option(png_, PNG_IGNORE_ADLER32, PNG_OPTION_ON);  // as libvips: the chunks' CRCs still hold
    png_set_user_limits(png_, kMaxCoord, kMaxCoord);
    png_set_chunk_malloc_max(png_, 50 * 1024 * 1024);
    png_set_chunk_cache_max(png_, 100);
    png_init_io(png_, file_);
    png_set_sig_bytes(png_, 8);
    png_read_info(png_, png_info_);

    png_uint_32 width, height;
    int depth, color, interlace;
    png_get_IHDR(png_, png_info_, &width, &height, &depth, &color, &interlace, nullptr, nullptr);
    uint32_t bands = color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA ? 1 : 3;
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png_);
    if (png_get_valid(png_, png_info_, PNG_INFO_tRNS)) {
      png_set_tRNS_to_alpha(png_);
      ++bands;
    } else if (color == PNG_COLOR_TYPE_GRAY_ALPHA || color == PNG_COLOR_TYPE_RGB_ALPHA) {
      ++bands;
    }
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png_);
    if (depth > 8 && kLittleEndian) png_set_swap(png_);  // PNG is big-endian
    interlaced_ = interlace != PNG_INTERLACE_NONE;
    if (interlaced_) png_set_interlace_handling(png_);
    png_read_update_info(png_, png_info_);

    info_.width = width;
    info_.height = height;
    info_.bands = bands;
    info_.bit_depth = depth > 8 ? 16 : 8;
    info_.sample_format = MSIC_SAMPLE_UNSIGNED;
    alpha_ = bands == 2 || bands == 4;
    row_bytes_ = size_t(width) * bands * (info_.bit_depth / 8);
    if (png_get_rowbytes(png_, png_info_) != row_bytes_) png_error(png_, "unexpected row layout");

    png_uint_32 rx = png_uint_32(72.0 / 2.54 * 100.0), ry = rx;  // libvips's default: 72 dpi
    int unit = PNG_RESOLUTION_METER;
    png_get_pHYs(png_, png_info_, &rx, &ry, &unit);
    xres_ = unit == PNG_RESOLUTION_METER ? rx / 1000.0 : rx;
    yres_ = unit == PNG_RESOLUTION_METER ? ry / 1000.0 : ry;

    png_charp name;
    int compression;
    png_bytep profile;
    png_uint_32 length;
    if (png_get_iCCP(png_, png_info_, &name, &compression, &profile, &length))
      icc_.assign(reinterpret_cast<char *>(profile), length);
    png_textp text;
    int texts = 0;
    png_get_text(png_, png_info_, &text, &texts);
    for (int i = 0; i < texts && i < 50; ++i)  // libvips reads the first 50
      if (!strcmp(text[i].key, "XML:com.adobe.xmp")) xmp_.assign(text[i].text, strlen(text[i].text));
    png_uint_32 exif_size;
    png_bytep exif;
    has_exif_ = png_get_eXIf_1(png_, png_info_, &exif_size, &exif) != 0;
    return true;
  }

  bool read_sequential(uint32_t rows, uint8_t *dst, size_t stride) {
    if (setjmp(png_jmpbuf(png_))) return false;
    for (uint32_t i = 0; i < rows; ++i) png_read_row(png_, dst + i * stride, nullptr);
    return true;
  }

  // Adam7 needs the whole image before the first row is whole (libvips
  // does the same).
  bool read_interlaced(uint32_t rows, uint8_t *dst, size_t stride) {
    if (whole_.empty()) {
      whole_.resize(row_bytes_ * info_.height);
      row_pointers_.resize(info_.height);
      for (uint32_t y = 0; y < info_.height; ++y) row_pointers_[y] = whole_.data() + y * row_bytes_;
      if (!read_whole()) return false;
    }
    for (uint32_t i = 0; i < rows; ++i) memcpy(dst + i * stride, row_pointers_[next_row_ + i], row_bytes_);
    next_row_ += rows;
    return true;
  }
  bool read_whole() {
    if (setjmp(png_jmpbuf(png_))) return false;
    png_read_image(png_, row_pointers_.data());
    return true;
  }

  FILE *file_ = nullptr;
  png_structp png_ = nullptr;
  png_infop png_info_ = nullptr;
  PngErrors errors_;
  msic_image_info info_{};
  bool alpha_ = false, interlaced_ = false, has_exif_ = false;
  size_t row_bytes_ = 0;
  double xres_ = 0, yres_ = 0;
  std::string icc_, xmp_;
  std::vector<uint8_t> whole_;
  std::vector<png_bytep> row_pointers_;
  uint32_t next_row_ = 0;
};

// The writer's libpng calls, apart from C++ objects for the same reason.
struct PngWriter {
  png_structp png = nullptr;
  png_infop png_info = nullptr;
  PngErrors errors;

  ~PngWriter() { png_destroy_write_struct(&png, &png_info); }

  bool start(FILE *f, const msic_image_info &info, const OutputMetadata &meta) {
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &errors, PngErrors::on_error, PngErrors::on_warning);
    if (!png || !(png_info = png_create_info_struct(png))) {
      snprintf(errors.message, sizeof errors.message, "out of memory");
      return false;
    }
    if (setjmp(png_jmpbuf(png))) return false;
    png_init_io(png, f);
    png_set_user_limits(png, kMaxCoord, kMaxCoord);
    // A decoded image is mostly an intermediate: libpng's adaptive filters
    // with zlib's run-length strategy. On the 24 Kodak decodes the PNGs
    // are 1.2% larger than at libpng's default (level 6: 16.26 MB), and
    // the decodes take 3.1-3.6 s of CPU instead of 5.5.
    png_set_compression_level(png, 1);
    png_set_compression_strategy(png, Z_RLE);
    png_set_filter(png, 0, PNG_ALL_FILTERS);
    static const int kColor[] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                 PNG_COLOR_TYPE_RGB_ALPHA};
    png_set_IHDR(png, png_info, info.width, info.height, int(info.bit_depth), kColor[info.bands - 1],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_pHYs(png, png_info, png_uint_32(std::lrint(meta.xres * 1000)), png_uint_32(std::lrint(meta.yres * 1000)),
                 PNG_RESOLUTION_METER);
    if (!meta.icc.empty() && !set_icc(meta.icc))
      fprintf(stderr, "msic: warning: bad ICC profile not saved\n");  // as libvips does
    // set_icc's jump target is gone once it returns: errors come back here.
    if (setjmp(png_jmpbuf(png))) return false;
    if (!meta.xmp.empty()) {
      png_text text{};
      text.compression = PNG_TEXT_COMPRESSION_zTXt;  // as libvips writes it
      text.key = const_cast<char *>("XML:com.adobe.xmp");
      text.text = const_cast<char *>(meta.xmp.c_str());
      text.text_length = meta.xmp.size();
      png_set_text(png, png_info, &text, 1);
    }
    png_write_info(png, png_info);
    if (info.bit_depth == 16 && kLittleEndian) png_set_swap(png);
    return true;
  }

  // libpng checks the profile; a bad one is dropped, not fatal.
  bool set_icc(const std::string &icc) {
    if (setjmp(png_jmpbuf(png))) return false;
    png_set_iCCP(png, png_info, "icc", PNG_COMPRESSION_TYPE_BASE, reinterpret_cast<png_const_bytep>(icc.data()),
                 png_uint_32(icc.size()));
    return true;
  }

  bool rows(const uint8_t *src, size_t stride, uint32_t n) {
    if (setjmp(png_jmpbuf(png))) return false;
    for (uint32_t i = 0; i < n; ++i) png_write_row(png, src + i * stride);
    return true;
  }

  bool finish() {
    if (setjmp(png_jmpbuf(png))) return false;
    png_write_end(png, png_info);
    return true;
  }
};

}  // namespace

std::unique_ptr<ImageInput> open_png(const std::string &path, std::string *error) {
  return PngInput::open(path, error);
}

bool png_takes(const std::string &path, const msic_image_info &info, const OutputMetadata &meta) {
  return output_suffix_is(path, "png") && info.bands >= 1 && info.bands <= 4 &&
         info.sample_format == MSIC_SAMPLE_UNSIGNED && (info.bit_depth == 8 || info.bit_depth == 16) &&
         !meta.has_exif;
}

bool write_png(const std::string &path, const msic_image_info &info, const OutputMetadata &meta,
               DecodedRows &rows, std::string *error) {
  const size_t stride = size_t(info.width) * info.bands * (info.bit_depth / 8);
  const uint32_t band = std::min(rows.rows_per_read(), info.height);
  std::vector<uint8_t> buf(stride * band);  // before the file exists: bad_alloc leaves nothing behind
  return write_file(path, error, [&](FILE *f, std::string *why) {
    PngWriter w;
    if (!w.start(f, info, meta)) return *why = w.errors.message, false;
    for (uint32_t y = 0; y < info.height; y += band) {
      const uint32_t n = std::min(band, info.height - y);
      if (!rows.read(y, n, buf.data(), stride, why)) return false;
      if (!w.rows(buf.data(), stride, n)) return *why = w.errors.message, false;
    }
    if (!w.finish()) return *why = w.errors.message, false;
    return true;
  });
}

}  // namespace msic_cli
