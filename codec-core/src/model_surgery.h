// Model surgery: changes to a trained model's layout that keep what it
// computes (so training goes on from there). LibTorch.
#pragma once
#include <vector>

#include "model_file.h"

namespace msic::net {

struct Growth {
  std::vector<int> predict_levels;  // a new predict unit in front of each
  bool causal_context = false;      // the anchors' causal context (ModelConfig::causal_context)
  int synthesis_context = 0;        // that many latents see the synthesis (ModelConfig::synthesis_context)
  std::vector<int> context_width;   // wider context nets, one width per latent (empty: as they are)
  int context_depth = 0;            // more hidden layers in the context nets (0: as they are)
  std::vector<int> coupling_width;  // wider couplings, one width per level (empty: as they are)
};

// Returns `from` grown as asked, and with dead context nets revived, all but
// unchanging what the model computes: new units and hidden units start with
// a zero output, new inputs and layers small. Throws std::runtime_error for
// a bad request.
ModelFile grow(const ModelFile &from, const Growth &growth);

}  // namespace msic::net
