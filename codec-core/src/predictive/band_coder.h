// Codes one band of a tile exactly or within a bound. Each sample is
// predicted from its decoded neighbours by a blend of ten predictors (the
// median edge detector of LOCO-I / JPEG-LS, planar, directional and plain
// neighbours), each weighted by the inverse square of its recent errors
// around the sample (after TMW and JPEG XL's weighted predictor), applied to
// the band minus alpha x up to two reference bands the encoder chose
// (inter-band correlation), plus a bias learnt per context. The prediction
// error is quantized with step 2e + 1 (e = 0: exact; JPEG-LS's near-lossless
// rule) and coded by the adaptive binary range coder, each bin mixing
// (logistic mixing, learnt weights) a model of the local activity with one
// of how far the predictors disagree. One template serves the encoder and
// the decoder, so they cannot differ.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace msic::predictive {

// A band in the coding domain: integers in [lo, hi] (the samples, or a
// float band's quantization indices or ordered bits; see tile codec).
struct BandJob {
  uint32_t width = 0, height = 0;
  int64_t lo = 0, hi = 0;
  int64_t max_error = 0;            // e in domain units; 0 = exact
  const int64_t *values = nullptr;  // encoder: the band; decoder: null
  int64_t *recon = nullptr;         // out: decoded values; at nodata: the prediction (smooth for neighbours)
  // Earlier bands' `recon` that help predict this one (null: none), and
  // their weights in 1/16.
  const int64_t *ref_recon[2] = {nullptr, nullptr};
  int32_t alpha[2] = {0, 0};
  // Nodata mask (bounded error only; exact coding keeps nodata anyway).
  bool masked = false;
  const uint8_t *nodata_in = nullptr;     // encoder: 1 where the sample is nodata
  uint8_t *nodata_out = nullptr;          // out (masked): the decoded mask
  const uint8_t *nodata_above = nullptr;  // the previous band's mask, or null
  // A valid sample must never decode to this value (masked bands).
  bool nodata_in_domain = false;
  int64_t nodata = 0;
};

constexpr int kMaxReferences = 2;
constexpr int32_t kAlphaOne = 16;  // alpha's unit
constexpr int32_t kAlphaMax = 32;  // |alpha| <= 2

// The sorted distinct values a band's samples take (its table: the band is
// then coded as ranks in it), each in [lo, hi], at most max_count of them.
// Coder: as below; the decoder fills `table` and throws Error on values out
// of order or range.
template <class Coder>
void code_table(Coder &coder, std::vector<int64_t> &table, int64_t lo, int64_t hi, size_t max_count);

// Coder: entropy::RangeEncoder (job.values set) or entropy::RangeDecoder.
// Throws Error(MSIC_ERR_FORMAT) through the decoder on a corrupt stream.
template <class Coder>
void code_band(Coder &coder, const BandJob &job);

// The median edge detector: the prediction from west, north and north-west.
inline int64_t median_edge(int64_t a, int64_t b, int64_t c) {
  const int64_t mx = a > b ? a : b, mn = a > b ? b : a;
  if (c >= mx) return mn;
  if (c <= mn) return mx;
  return a + b - c;
}

}  // namespace msic::predictive
