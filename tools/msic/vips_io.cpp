// The msic command's images in every format libvips reads and writes: a
// module (msic-vips-io.so) that the command loads only for those, so that
// PNG and PNM commands never start libvips. Metadata maps through
// plugin-vips/vips_metadata.h, as in the libvips module itself.
#include <vips/vips.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <vector>

#include "image_io.h"
#include "vips_metadata.h"

namespace msic_cli {
namespace {

std::string vips_message() {
  std::string m = vips_error_buffer();
  vips_error_clear();
  while (!m.empty() && m.back() == '\n') m.pop_back();
  return m;
}

bool start(const char *argv0, bool with_modules, std::string *error) {
  // libvips finds its modules under its prefix (VIPSHOME, else where it was
  // installed); a prefix without them loads none. A VIPSHOME the user set
  // is kept.
  if (!with_modules && !getenv("VIPSHOME")) setenv("VIPSHOME", "/nonexistent/msic-without-vips-modules", 1);
  if (VIPS_INIT(argv0) == 0) return true;
  *error = "cannot start libvips: " + vips_message();
  return false;
}

class VipsInput final : public ImageInput {
 public:
  VipsInput(VipsImage *image, VipsRegion *region) : image_(image), region_(region) {}
  ~VipsInput() override {
    g_object_unref(region_);
    g_object_unref(image_);
  }

  bool describe(std::string *error) {
    info_.width = uint32_t(image_->Xsize);
    info_.height = uint32_t(image_->Ysize);
    info_.bands = uint32_t(image_->Bands);
    if (vips__msic_sample_format(image_->BandFmt, &info_, "msic")) return *error = vips_message(), false;
    return true;
  }

  const msic_image_info &info() const override { return info_; }

  bool add_boxes(msic_writer *w, bool strip, std::string *error) override {
    if (vips__msic_metadata_save(image_, strip, w, "msic")) return *error = vips_message(), false;
    return true;
  }

  bool read_rows(uint32_t rows, uint8_t *dst, size_t stride, std::string *error) override {
    VipsRect rect{0, int(next_row_), image_->Xsize, int(rows)};
    if (vips_region_prepare(region_, &rect)) return *error = vips_message(), false;
    const size_t row = VIPS_IMAGE_SIZEOF_LINE(image_);
    for (uint32_t i = 0; i < rows; ++i)
      memcpy(dst + i * stride, VIPS_REGION_ADDR(region_, 0, int(next_row_ + i)), row);
    next_row_ += rows;
    return true;
  }

 private:
  VipsImage *image_;
  VipsRegion *region_;
  msic_image_info info_{};
  uint32_t next_row_ = 0;
};

std::unique_ptr<ImageInput> open(const std::string &path, std::string *error) {
  // A truncated or damaged image fails, as in the built-in readers, rather
  // than coding whatever the loader left in the rows it could not read.
  VipsImage *image = vips_image_new_from_file(path.c_str(), "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                                              VIPS_FAIL_ON_TRUNCATED, NULL);
  if (!image) return *error = vips_message(), nullptr;
  VipsRegion *region = vips_region_new(image);
  if (!region) {
    g_object_unref(image);
    return *error = vips_message(), nullptr;
  }
  auto in = std::make_unique<VipsInput>(image, region);
  if (!in->describe(error)) return nullptr;
  return in;
}

// libvips pulls the decoded rows; one worker asks, in order (and libvips
// 8.14 cannot lose its error), and the rows' tiles decode in parallel.
struct Pull {
  DecodedRows *rows;
  size_t row_bytes;
  std::mutex mutex;
  std::vector<uint8_t> scratch;
  std::string error;

  static int generate(VipsRegion *out, void *, void *a, void *, gboolean *) {
    auto *p = static_cast<Pull *>(a);
    std::lock_guard<std::mutex> lock(p->mutex);
    const VipsRect &r = out->valid;
    const size_t pixel = VIPS_IMAGE_SIZEOF_PEL(out->im);
    const bool whole_rows = r.left == 0 && r.width == out->im->Xsize;
    if (!whole_rows) p->scratch.resize(p->row_bytes);
    for (int y = r.top; y < VIPS_RECT_BOTTOM(&r); ++y) {
      uint8_t *dst = reinterpret_cast<uint8_t *>(VIPS_REGION_ADDR(out, r.left, y));
      if (!p->rows->read(uint32_t(y), 1, whole_rows ? dst : p->scratch.data(), p->row_bytes, &p->error)) {
        vips_error("msic", "%s", p->error.c_str());
        return -1;
      }
      if (!whole_rows) memcpy(dst, p->scratch.data() + size_t(r.left) * pixel, size_t(r.width) * pixel);
    }
    return 0;
  }
};

bool write(const std::string &path, msic_reader *reader, const char *in_name, const msic_image_info &info,
           DecodedRows &rows, std::string *error) {
  VipsImage *image = vips_image_new();
  std::unique_ptr<VipsImage, void (*)(void *)> hold(image, g_object_unref);
  vips_image_init_fields(image, int(info.width), int(info.height), int(info.bands), vips__msic_band_format(&info),
                         VIPS_CODING_NONE, vips__msic_interpretation(&info), 1.0, 1.0);
  vips_image_set_int(image, VIPS_META_CONCURRENCY, 1);
  Pull pull{&rows, size_t(info.width) * info.bands * (info.bit_depth / 8), {}, {}, {}};
  if (vips_image_pipelinev(image, VIPS_DEMAND_STYLE_FATSTRIP, NULL) ||
      vips_image_generate(image, NULL, Pull::generate, NULL, &pull, NULL) ||
      vips__msic_metadata_load(image, reader, in_name, nullptr, FALSE) ||
      vips_image_write_to_file(image, path.c_str(), NULL)) {
    *error = pull.error.empty() ? vips_message() : pull.error;
    vips_error_clear();
    return false;
  }
  return true;
}

const VipsIO kVipsIO{start, open, write};

}  // namespace
}  // namespace msic_cli

extern "C" __attribute__((visibility("default"))) const msic_cli::VipsIO *msic_cli_vips_io_v1() {
  return &msic_cli::kVipsIO;
}
