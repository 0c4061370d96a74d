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
//   - synthesis context (ModelConfig::synthesis_context): the latent's
//     continued half, as the decoder's synthesis makes it from the coarser
//     latents, at the 3 x 3 positions around the symbol's, row by row, each
//     with all its channels, zero outside the latent (after the channel
//     context's latents);
//   - spatial context, four neighbours of the same latent in this order:
//     pass 1 sees its anchor neighbours, and pass 0 of a causal model
//     (ModelConfig::causal_context) the anchors decoded before it;
//   - parts: a tile's symbols go into one rANS stream per part, part j
//     holding rows [part_row(j), part_row(j + 1)) of every latent, so that
//     a decoder's threads can each read one. A pass whose context reads
//     its own positions (pass_reads_itself) sees only its part's rows, as
//     if the latent ended there; the other pass reads across parts (every
//     part's first pass is decoded before any second pass). The trainer's
//     rate model sees whole latents: the cut rows are a few percent of a
//     fine latent's, as a tile's border is.
#pragma once

#include <algorithm>
#include <cstdint>

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
// The synthesis context's neighbourhood: all of it is known before the
// latent's first symbol, so it reaches across parts.
constexpr int kSynthesisReach = 1;
constexpr int kSynthesisTaps = (2 * kSynthesisReach + 1) * (2 * kSynthesisReach + 1);

// The pass that codes position (y, x).
constexpr int coding_pass(int y, int x) { return (y + x) & 1; }
// Whether pass `pass` has spatial context.
constexpr bool pass_has_spatial_context(int pass, bool causal) { return pass == 1 || causal; }
// Whether its context reads positions of the same pass (the causal
// anchors), so that a part's positions must be coded one after another.
constexpr bool pass_reads_itself(int pass, bool causal) { return pass == 0 && causal; }

// Parts (MSIC.md, "Tile payload"): an encoder codes a tile of coded_height
// rows in one part per 256 rows (16 at most); a latent of `rows` rows uses
// the first latent_parts of them, each at least kMinPartRows rows, so the
// coarse latents, whose context matters most per symbol, stay whole. Each
// part costs 12-17 bytes (its size, and its coder's state at the end):
// on Kodak, parts of 128 rows cost +0.37% BD-rate, mostly at the lowest
// rates, where a 512-px tile is 2 KB.
constexpr int kMaxCodingParts = 16;
constexpr int kRowsPerCodingPart = 256;
constexpr int kMinPartRows = 32;
constexpr int coding_parts(int coded_height) {
  return std::clamp((coded_height + kRowsPerCodingPart - 1) / kRowsPerCodingPart, 1, kMaxCodingParts);
}
constexpr int latent_parts(int parts, int rows) { return std::max(1, std::min(parts, rows / kMinPartRows)); }
// The first row of part j of n of a latent of `rows` rows (j = n: rows).
constexpr int part_row(int j, int n, int rows) { return int(int64_t(j) * rows / n); }

}  // namespace msic::entropy
