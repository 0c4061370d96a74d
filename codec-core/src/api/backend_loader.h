// Loads libmsic-codec (the LibTorch half, beside libmsic) on first use and
// makes tile codecs from it.
#pragma once
#include <memory>

#include "model_file.h"
#include "tile_codec.h"

namespace msic {

// Throws Error(MSIC_ERR_INTERNAL) if the backend cannot be loaded and
// Error(MSIC_ERR_MODEL) if it refuses the model.
std::unique_ptr<TileCodec> load_tile_codec(const ModelFile &model);

}  // namespace msic
