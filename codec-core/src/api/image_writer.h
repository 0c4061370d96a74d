// Encodes an image fed row by row: rows are buffered until a tile row is
// complete, whose tiles are then coded in parallel and appended to the
// container. The reduced levels are made from the same rows as they pass
// (reduced_levels.h) and coded a tile row at a time too. Memory stays
// bounded by one tile row per level, plus the coded level tiles, which the
// container keeps until the end (reduced_levels.h says how much).
#pragma once
#include <memory>
#include <vector>

#include "api/atomic_file.h"
#include "api/context.h"
#include "api/encoder_settings.h"
#include "api/reduced_levels.h"
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
  uint32_t tile_size() const { return header_.tile_size; }
  void mark_failed() { failed_ = true; }

 private:
  void start();  // at the first row, when the boxes are final
  // Codes `count` rows of level `level` (0: the image), a tile row, and
  // hands its tiles to the container.
  void encode_rows(size_t level, const uint8_t *rows, size_t stride, uint32_t count);

  Context &context_;
  EncoderSettings settings_;
  format::Header header_;
  format::ContainerWriter::Sink sink_;
  std::unique_ptr<AtomicFile> file_;
  std::unique_ptr<format::ContainerWriter> out_;  // made at the first row, when the boxes are final
  std::unique_ptr<predictive::PredictiveCodec> exact_;  // tile codec 2 (made with out_: it reads the NODT box)
  size_t pixel_bytes_ = 0;                            // bands x bytes per sample
  std::vector<uint8_t> band_;                     // one tile row of pixels
  uint32_t rows_in_band_ = 0, rows_done_ = 0;
  std::vector<format::Level> levels_;             // the image, then its reduced levels
  std::vector<uint32_t> tile_rows_done_;          // per level
  std::unique_ptr<LevelBuilder> reducer_;
  bool finished_ = false, failed_ = false;
};

// Throws Error(MSIC_ERR_ARGUMENT) unless the reserved fields are zero.
void check_reserved_zero(const msic_image_info &info);

}  // namespace msic
