#include "api/encoder_settings.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "api/quality_scale.h"
#include "container.h"
#include "errors.h"

namespace msic {

namespace {
bool integral(double v) { return std::isfinite(v) && v == std::floor(v); }
}  // namespace

void EncoderSettings::set(msic_encoder_option option, double value) {
  switch (option) {
    case MSIC_ENCODER_QUALITY:
      if (!(value >= MSIC_QUALITY_MIN && value <= MSIC_QUALITY_MAX))
        throw Error(MSIC_ERR_ARGUMENT, "quality must be a number in [" + std::to_string(int(MSIC_QUALITY_MIN)) + ", " +
                                           std::to_string(int(MSIC_QUALITY_MAX)) + "]");
      quality = value;
      return;
    case MSIC_ENCODER_TILE_SIZE:
      if (!integral(value) || (value != MSIC_TILE_SIZE_AUTO && !format::tile_size_valid(uint64_t(std::max(0.0, value)))))
        throw Error(MSIC_ERR_ARGUMENT, "tile size must be " + format::tile_size_rule() + ", or 0 (automatic)");
      tile_size = uint32_t(value);
      return;
    case MSIC_ENCODER_THREADS:
      if (!integral(value) || value < 0 || value > 65536)
        throw Error(MSIC_ERR_ARGUMENT, "threads must be an integer >= 0");
      threads = int(value);
      return;
    case MSIC_ENCODER_LOSSLESS:
      if (value != 0 && value != 1) throw Error(MSIC_ERR_ARGUMENT, "lossless must be 0 or 1");
      lossless = value == 1;
      return;
    case MSIC_ENCODER_MAX_ERROR:
      if (!(value >= 0) || !std::isfinite(value))
        throw Error(MSIC_ERR_ARGUMENT, "max error must be a finite number >= 0");
      max_error = value;
      return;
    case MSIC_ENCODER_OVERVIEWS:
      if (!integral(value) || value < 0 || value > format::kMaxLevels)
        throw Error(MSIC_ERR_ARGUMENT, "overviews must be an integer in [0, " +
                                           std::to_string(format::kMaxLevels) + "] (0: none)");
      overviews = uint32_t(value);
      return;
    case MSIC_ENCODER_OVERVIEW_NEAREST:
      if (value != 0 && value != 1) throw Error(MSIC_ERR_ARGUMENT, "overview nearest must be 0 or 1");
      overview_nearest = value == 1;
      return;
    case MSIC_ENCODER_EFFORT:
      if (!integral(value) || value < 1 || value > MSIC_EFFORT_MAX)
        throw Error(MSIC_ERR_ARGUMENT, "effort must be an integer in [1, " + std::to_string(MSIC_EFFORT_MAX) + "]");
      effort = int(value);
      return;
  }
  throw Error(MSIC_ERR_UNSUPPORTED, "encoder option " + std::to_string(int(option)) + " is not known to this library");
}

double EncoderSettings::get(msic_encoder_option option) const {
  switch (option) {
    case MSIC_ENCODER_QUALITY: return quality;
    case MSIC_ENCODER_TILE_SIZE: return tile_size;
    case MSIC_ENCODER_THREADS: return threads;
    case MSIC_ENCODER_LOSSLESS: return lossless ? 1 : 0;
    case MSIC_ENCODER_MAX_ERROR: return max_error;
    case MSIC_ENCODER_OVERVIEWS: return overviews;
    case MSIC_ENCODER_OVERVIEW_NEAREST: return overview_nearest ? 1 : 0;
    case MSIC_ENCODER_EFFORT: return effort;
  }
  throw Error(MSIC_ERR_UNSUPPORTED, "encoder option " + std::to_string(int(option)) + " is not known to this library");
}

EncoderSettings EncoderSettings::from_options(const msic_encode_options &o) {
  EncoderSettings s;
  s.set(MSIC_ENCODER_QUALITY, o.quality);
  s.set(MSIC_ENCODER_TILE_SIZE, o.tile_size);
  if (o.threads < 0) throw Error(MSIC_ERR_ARGUMENT, "threads must be >= 0");
  s.set(MSIC_ENCODER_THREADS, o.threads);
  s.progress = o.progress;
  s.progress_user = o.progress_user;
  return s;
}

// Tiles are coded independently, and the pixels next to a tile border see
// half the context: a border costs bits (and the border boost, more). An
// image of up to 1024 px a side coded as one tile rather than 512-px tiles,
// effort 2, BD-rate (PSNR) over Q0-95: 24 Kodak images (768 x 512) -1.4%,
// 12 photographs of 1024 px (bench/fetch_photos.sh) -6.1%. Larger images
// keep 512-px tiles: 1024-px ones would save -2.5% more on 2048-px photos,
// but each tile decoding takes 4x the memory (58 bytes a pixel: 61 MB), a
// window reads 4x the pixels, and the default overviews start only above
// 8 tiles a side. Images of up to 512 px are one 512-px tile, as before.
uint32_t EncoderSettings::tile_size_for(uint32_t width, uint32_t height) const {
  if (tile_size != MSIC_TILE_SIZE_AUTO) return tile_size;
  const uint32_t longer = std::max(width, height);
  return longer > MSIC_TILE_SIZE_DEFAULT && longer <= MSIC_TILE_SIZE_SINGLE_MAX ? MSIC_TILE_SIZE_SINGLE_MAX
                                                                               : MSIC_TILE_SIZE_DEFAULT;
}

uint32_t EncoderSettings::model_quality_centi() const { return uint32_t(std::lround(model_quality(quality) * 100.0)); }

}  // namespace msic
