// The models a reader can decode with besides its context's own: a file
// names the model that coded it by SHA-256, and after an upgrade changes the
// default model (or with a context made from another model file) that
// model is found here, so that no file anyone wrote stops decoding:
//
//   1. the model embedded in libmsic;
//   2. every *.msicw file in the folders of $MSIC_MODEL_PATH (':'-separated);
//   3. every *.msicw file in the installed models folder
//      (MSIC_MODEL_DIR, <datadir>/msic/models: the packages put retired
//      default models there, models/retired/ in the source tree).
//
// A model is matched by the hash of its contents, never by its file name;
// empty entries of $MSIC_MODEL_PATH name no folder, and files over 256 MB
// are not read.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "model_file.h"

namespace msic {

// The model with this hash, or none. Files that are not models, or are
// damaged, are passed over.
std::optional<ModelFile> find_model(const std::array<uint8_t, 32> &hash);
// Where find_model looks, for messages: "the embedded model, A, B".
std::string model_search_path();

}  // namespace msic
