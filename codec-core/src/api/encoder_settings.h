// What an encoder is asked to do: the C API's msic_encoder_settings and the
// rules of every option, in one place.
#pragma once
#include <cstdint>

#include "msic/msic.h"

namespace msic {

struct EncoderSettings {
  double quality = MSIC_QUALITY_DEFAULT;  // the user's scale (quality_scale.h)
  uint32_t tile_size = MSIC_TILE_SIZE_AUTO;  // or a size by format::tile_size_valid
  int threads = 0;  // 0: the context's
  bool lossless = false;
  double max_error = 0;  // > 0: bounded-error coding
  uint32_t overviews = MSIC_OVERVIEWS_DEFAULT;  // scale (log2) of the first reduced level; 0: none
  bool overview_nearest = false;
  int effort = MSIC_EFFORT_DEFAULT;
  msic_progress_fn progress = nullptr;
  void *progress_user = nullptr;

  // Throws Error(MSIC_ERR_ARGUMENT) naming the option and its range, or
  // Error(MSIC_ERR_UNSUPPORTED) for an unknown option.
  void set(msic_encoder_option option, double value);
  double get(msic_encoder_option option) const;
  // The shorthand struct, checked by the same rules.
  static EncoderSettings from_options(const msic_encode_options &options);
  // What the header records and the tile codec uses: the model's quality
  // for `quality`, in hundredths.
  uint32_t model_quality_centi() const;
  // The tile size of an image of width x height: tile_size, or what
  // MSIC_TILE_SIZE_AUTO means for it (msic.h).
  uint32_t tile_size_for(uint32_t width, uint32_t height) const;
  // The exact or bounded-error coding (tile codec 2) rather than the model's.
  bool exact_coding() const { return lossless || max_error > 0; }
};

}  // namespace msic
