// Encodes an image fed row by row: rows are buffered until a tile row is
// complete, whose tiles are then coded in parallel and appended to the
// container. Memory stays bounded by one tile row.
#pragma once
#include <memory>
#include <vector>

#include "api/atomic_file.h"
#include "api/context.h"
#include "api/encoder_settings.h"
#include "container.h"
#include "predictive/predictive_codec.h"

namespace msic {

class ImageWriter {
 public:
  // `file` (may be null) is committed by finish(); throws Error.
  ImageWriter(Context &context, const msic_image_info &info, const EncoderSettings &settings,
              format::ContainerWriter::Sink sink, std::unique_ptr<AtomicFile> file = nullptr);

  void add_box(const char type[4], const void *data, size_t size);
  void add_f64_box(const char type[4], const double *values, size_t count);
  void write_rows(const uint8_t *pixels, size_t stride, uint32_t rows);
  void finish();
  // After any failure the writer refuses further calls.
  bool failed() const { return failed_; }
  void mark_failed() { failed_ = true; }

 private:
  void encode_tile_row();

  Context &context_;
  EncoderSettings settings_;
  format::Header header_;
  format::ContainerWriter::Sink sink_;
  std::unique_ptr<AtomicFile> file_;
  std::unique_ptr<format::ContainerWriter> out_;  // made at the first row, when the boxes are final
  std::unique_ptr<predictive::PredictiveCodec> exact_;  // tile codec 2 (made with out_: it reads the NODT box)
  size_t pixel_bytes_ = 0;                            // bands x bytes per sample
  std::vector<uint8_t> band_;                     // one tile row of pixels
  uint32_t rows_in_band_ = 0, rows_done_ = 0, tile_row_ = 0;
  bool finished_ = false, failed_ = false;
};

// Throws Error(MSIC_ERR_ARGUMENT) unless the reserved fields are zero.
void check_reserved_zero(const msic_image_info &info);

}  // namespace msic
