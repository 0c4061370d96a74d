// The exact and bounded-error tile codec (tile_codec 2 in MSIC.md): any
// number of bands of unsigned, signed or float samples, coded losslessly or
// with every sample within max_error of the original. No model: a file of
// this codec decodes with any model, or none.
//
// Each band of a tile is mapped to integers (the coding domain: integer
// samples as they are; float samples as quantization indices of step
// 2 x max_error when that keeps the bound, else as their ordered bit
// patterns, exactly) and coded by band_coder, predicted also from one
// earlier band that the encoder picks (inter-band correlation: RGB,
// multispectral). The encoder checks every sample against the bound before
// it returns the payload.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "container.h"
#include "predictive/sample_type.h"

namespace msic::predictive {

// What the whole file shares (from its header and NODT box).
struct CodingParams {
  SampleType type;
  uint32_t bands = 1;
  double max_error = 0;  // 0: exact. Integer samples: a whole number.
  bool has_nodata = false;
  double nodata = 0;     // samples equal to it (NaN: any NaN) decode exactly, others never become it
  // Encoder only (a decoder needs no roles): bands coded exactly whatever
  // max_error, as their ROLE box says (alpha, masks). Empty: none.
  std::vector<uint8_t> exact_bands;
};

// The parameters of a file's header and its NODT box (may be null);
// throws Error(MSIC_ERR_FORMAT) on a NODT box that is not one float64.
CodingParams coding_params(const format::Header &header, const std::vector<uint8_t> *nodata_box);
// The encoder's: also the ROLE box (may be null); throws
// Error(MSIC_ERR_ARGUMENT) on one that is not a known role per band, with
// at most one mask band, the last.
CodingParams encoder_params(const format::Header &header, const std::vector<uint8_t> *nodata_box,
                            const std::vector<uint8_t> *roles_box);

class PredictiveCodec {
 public:
  explicit PredictiveCodec(const CodingParams &params);  // throws Error on params a file cannot hold

  // pixels: width x height x bands samples, interleaved, rows `stride` bytes apart.
  std::vector<uint8_t> encode(const uint8_t *pixels, size_t stride, uint32_t width, uint32_t height) const;
  // Throws Error(MSIC_ERR_FORMAT) on a corrupt payload.
  void decode(const std::vector<uint8_t> &payload, uint32_t width, uint32_t height, uint8_t *out,
              size_t stride) const;
  // Working memory of one decode, per pixel of the tile.
  uint64_t decode_bytes_per_pixel() const;

 private:
  CodingParams params_;
};

}  // namespace msic::predictive
