// libmsic-codec: the LibTorch half of the codec, loaded by libmsic with
// dlopen on the first encode or decode. It exports one C function.
#include <cstdio>

#include "tile_codec.h"

extern "C" __attribute__((visibility("default"))) msic::TileCodec *msic_tile_codec_create(
    const msic::ModelFile *model, char *error, size_t error_size) {
  try {
    return msic::TileCodec::create(*model).release();
  } catch (const std::exception &e) {
    snprintf(error, error_size, "%s", e.what());
    return nullptr;
  }
}
