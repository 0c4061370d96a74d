// Model surgery: changes to a trained model's layout that keep what it
// computes (so training goes on from there). LibTorch.
#pragma once
#include <vector>

#include "model_file.h"

namespace msic::net {

// Returns `from` with a new predict unit in front of each of `levels`, dead
// context nets revived, and with `causal` the anchors' causal context
// (ModelConfig::causal_context, new weights small): all but unchanging what
// the model computes. Throws std::runtime_error for a bad request.
ModelFile grow(const ModelFile &from, const std::vector<int> &levels, bool causal);

}  // namespace msic::net
