// The coding schedule: in what order latents and positions are coded and
// what each one's context sees. The integer coder (context_model.cpp), its
// float twin (network.cpp, ContextNet) and the rate model the trainer uses
// (rate_model.cpp) all read it from here.
//
//   - latents coarsest first;
//   - inside a latent, a checkerboard: pass 0 codes the anchors
//     ((x + y) even), pass 1 the rest, each row by row, all channels of a
//     position together;
//   - channel context: the decoded coarser latents at the same place
//     (ModelConfig::context_sources);
//   - spatial context, four neighbours of the same latent in this order:
//     pass 1 sees its anchor neighbours, and pass 0 of a causal model
//     (ModelConfig::causal_context) the anchors decoded before it.
#pragma once

namespace msic::entropy {

struct NeighbourOffset {
  int dy, dx;
};

constexpr int kCodingPasses = 2;
constexpr int kSpatialNeighbours = 4;
// Indexed by pass.
constexpr NeighbourOffset kSpatialContext[kCodingPasses][kSpatialNeighbours] = {
    {{-2, 0}, {-1, -1}, {-1, 1}, {0, -2}},  // causal anchors: decoded earlier in raster order
    {{-1, 0}, {0, -1}, {0, 1}, {1, 0}},     // up, left, right, down: all anchors
};
// How far any neighbour reaches (for padding).
constexpr int kSpatialReach = 2;

// The pass that codes position (y, x).
constexpr int coding_pass(int y, int x) { return (y + x) & 1; }
// Whether pass `pass` has spatial context.
constexpr bool pass_has_spatial_context(int pass, bool causal) { return pass == 1 || causal; }
// Whether its context reads positions of the same pass (the causal
// anchors), so that its positions must be coded one after another; the
// encoder splits the others among threads (context_model.cpp).
constexpr bool pass_reads_itself(int pass, bool causal) { return pass == 0 && causal; }

}  // namespace msic::entropy
