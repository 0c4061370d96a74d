#include "predictive/band_coder.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "entropy/range_coder.h"
#include "errors.h"

namespace msic::predictive {
namespace {

using entropy::AdaptiveBit;
using entropy::Mixer2;

constexpr int kActivityContexts = 24;
constexpr int kMaxLength = 36;  // bit length of |q|: domains span at most 2^33
constexpr int kBiasContexts = kActivityContexts * 9;
constexpr int32_t kBiasWindow = 32;  // the bias is a mean over about this many samples
constexpr int kPredictors = 10;
constexpr int kSpreadContexts = 24;

int bit_length(uint64_t v) { return v ? 64 - __builtin_clzll(v) : 0; }
int64_t abs64(int64_t v) { return v < 0 ? -v : v; }
int sign3(int64_t v) { return (v > 0) - (v < 0); }
// Half-octave buckets of the local activity: 0, 1, 2, 3, 4-5, 6-7, 8-11, ...
int activity_context(uint64_t a) {
  if (a < 4) return int(a);
  const int n = bit_length(a);
  const int c = 2 * n - 2 + int((a >> (n - 2)) & 1);
  return c < kActivityContexts ? c : kActivityContexts - 1;
}

// The adaptive probabilities of one band.
struct Models {
  struct Residual {
    AdaptiveBit nonzero;
    AdaptiveBit longer[kMaxLength];    // unary bit length of |q|
    AdaptiveBit first[kMaxLength];     // the bit below the leading one
    AdaptiveBit second[kMaxLength][2]; // the next, given the first
  };
  Residual residual[kActivityContexts];
  Residual spread[kSpreadContexts];  // by how far the predictions disagree
  struct Mixers {  // residual[activity] with spread[...], per activity and bin
    Mixer2 nonzero, longer[kMaxLength], first[kMaxLength], second[kMaxLength][2];
  };
  Mixers mixers[kActivityContexts];
  AdaptiveBit negative[kActivityContexts][9];  // by the signs of the west and north errors
  AdaptiveBit nodata[8];  // west, north, band above nodata
  AdaptiveBit above_nodata;  // a valid sample that quantized onto nodata: above (1) or below
  struct Bias {
    int64_t sum = 0;
    int32_t count = 0;
  };
  Bias bias[kBiasContexts];
};

// The quantized error q (encoder: given; decoder: returned), |q| < 2^max_length.
// Codes a bin with one model, or with two mixed.
template <class Coder>
int code_bin(Coder &c, AdaptiveBit &a, AdaptiveBit *b, Mixer2 *m, int bit) {
  return b ? c.code(a, *b, *m, bit) : c.code(a, bit);
}

// The quantized error q (encoder: given; decoder: returned), |q| < 2^max_length;
// its magnitude's bins from m, mixed with n's through x when given.
template <class Coder>
int64_t code_residual(Coder &c, Models::Residual &m, Models::Residual *n, Models::Mixers *x, AdaptiveBit &sign,
                      int64_t q, int max_length) {
  constexpr bool enc = Coder::kEncodes;
  if (!code_bin(c, m.nonzero, n ? &n->nonzero : nullptr, x ? &x->nonzero : nullptr, enc && q != 0)) return 0;
  const int negative = c.code(sign, enc && q < 0);
  const uint64_t u = enc ? uint64_t(abs64(q)) : 0;
  const int length = enc ? bit_length(u) : 0;
  int len = 1;
  while (len < max_length && code_bin(c, m.longer[len], n ? &n->longer[len] : nullptr,
                                      x ? &x->longer[len] : nullptr, enc && length > len))
    ++len;
  uint64_t v = 1;
  if (len >= 2) {
    const int b1 = code_bin(c, m.first[len], n ? &n->first[len] : nullptr, x ? &x->first[len] : nullptr,
                            enc && ((u >> (len - 2)) & 1));
    v = 2 | uint64_t(b1);
    if (len >= 3) {
      const int b2 = code_bin(c, m.second[len][b1], n ? &n->second[len][b1] : nullptr,
                              x ? &x->second[len][b1] : nullptr, enc && ((u >> (len - 3)) & 1));
      v = (v << 1) | uint64_t(b2);
      if (len > 3) {
        const int rest = len - 3;
        v = (v << rest) | c.code_raw(u & ((uint64_t(1) << rest) - 1), rest);
      }
    }
  }
  return negative ? -int64_t(v) : int64_t(v);
}

// Decoded neighbours of sample i: a west, b north, c north-west, d
// north-east (at the borders, the nearest that exists; `mid` for the first).
struct Neighbours {
  int64_t a, b, c, d;
  Neighbours(const int64_t *v, size_t i, uint32_t x, uint32_t y, uint32_t w, int64_t mid) {
    a = x ? v[i - 1] : (y ? v[i - w] : mid);
    b = y ? v[i - w] : a;
    c = (x && y) ? v[i - w - 1] : b;
    d = (y && x + 1 < w) ? v[i - w + 1] : b;
  }
  void predict(int64_t *p) const {
    p[0] = median_edge(a, b, c);
    p[1] = a + b - c;
    p[2] = a + d - b;
    p[3] = b + (d - c) / 2;
    p[4] = a + (b - c) / 2;
    p[5] = b;
    p[6] = a;
    p[7] = (a + d) >> 1;
    p[8] = d;
    p[9] = (a + b) >> 1;
  }
};

}  // namespace

template <class Coder>
void code_band(Coder &coder, const BandJob &job) {
  constexpr bool enc = Coder::kEncodes;
  auto models = std::make_unique<Models>();
  const uint32_t w = job.width, h = job.height;
  const int64_t e = job.max_error, step = 2 * e + 1;
  const int64_t lo = job.lo, hi = job.hi, mid = lo + (hi - lo) / 2;
  // |q| <= (hi - lo) / step + 1: its bit length bounds the unary code.
  const int max_length = bit_length(uint64_t((hi - lo) / step + 1));
  const bool down_ok = job.nodata - 1 >= lo, up_ok = job.nodata + 1 <= hi;
  int64_t *R = job.recon;
  // Each predictor's error (in steps) at every sample of the row above and
  // of this row, slot x + 1 for column x: its weight is the inverse square
  // of its errors around the sample.
  std::vector<uint32_t> errors_above(size_t(w + 2) * kPredictors, 0), errors_here(errors_above.size(), 0);
  // |recon - prediction| of the row above and of this one, in steps.
  std::vector<int64_t> coding_errors_above(size_t(w) + 2, 0), coding_errors_here(coding_errors_above.size(), 0);
  std::vector<int64_t> signed_errors_above(size_t(w) + 2, 0), signed_errors_here(signed_errors_above.size(), 0);

  for (uint32_t y = 0; y < h; ++y) {
    int64_t error_west = 0;  // recon - prediction of the previous sample
    std::swap(errors_above, errors_here);
    std::swap(coding_errors_above, coding_errors_here);
    std::swap(signed_errors_above, signed_errors_here);
    for (uint32_t x = 0; x < w; ++x) {
      const size_t i = size_t(y) * w + x;
      const Neighbours n(R, i, x, y, w, mid);
      int64_t candidates[kPredictors];
      n.predict(candidates);
      int64_t ref_surprise = 0;  // what the reference bands did that their neighbours did not say
      if (job.ref_recon[0]) {
        // Each predictor on this band minus alpha x the reference bands.
        int64_t ref_terms[kPredictors] = {};
        for (int r = 0; r < kMaxReferences && job.ref_recon[r]; ++r) {
          const int64_t *ref = job.ref_recon[r];
          const Neighbours nr(ref, i, x, y, w, ref[i]);
          int64_t ref_candidates[kPredictors];
          nr.predict(ref_candidates);
          for (int k = 0; k < kPredictors; ++k) ref_terms[k] += job.alpha[r] * (ref[i] - ref_candidates[k]);
        }
        for (int k = 0; k < kPredictors; ++k) candidates[k] += (ref_terms[k] + kAlphaOne / 2) >> 4;
        ref_surprise = abs64(ref_terms[0]) >> 4;
      }
      const uint32_t *up = errors_above.data() + size_t(x) * kPredictors;  // columns x - 1, x, x + 1
      const uint32_t *left = errors_here.data() + size_t(x) * kPredictors;
      int64_t weighted = 0, total = 0;
      for (int k = 0; k < kPredictors; ++k) {
        const uint64_t err = uint64_t(up[k]) + up[kPredictors + k] + up[2 * kPredictors + k] + left[k];
        // Never 0, and small enough that weight x (domain span 2^35) x 5 fits.
        const int64_t weight = int64_t((uint64_t(1) << 24) / (err * err + 4)) + 1;
        weighted += weight * (candidates[k] - candidates[0]);
        total += weight;
      }
      int64_t pred = candidates[0] + (weighted >= 0 ? (weighted + total / 2) / total : -((total / 2 - weighted) / total));
      const int64_t *err_up = coding_errors_above.data() + x;
      const int64_t activity = abs64(n.d - n.b) + abs64(n.b - n.c) + abs64(n.c - n.a) + 2 * abs64(error_west) +
                               err_up[0] + err_up[1] + err_up[2] + ref_surprise;
      const int act = activity_context(uint64_t(activity / step));
      Models::Bias &bias = models->bias[act * 9 + 3 * sign3(n.b - n.c) + sign3(n.a - n.c) + 4];
      if (bias.count) pred += bias.sum / bias.count;
      pred = pred < lo ? lo : (pred > hi ? hi : pred);

      if (job.masked) {
        const int ctx = (x && job.nodata_out[i - 1]) + 2 * (y && job.nodata_out[i - w]) +
                        4 * (job.nodata_above && job.nodata_above[i]);
        const int nodata = coder.code(models->nodata[ctx], enc && job.nodata_in[i]);
        job.nodata_out[i] = uint8_t(nodata);
        if (nodata) {
          // Neighbours see the prediction: the edge of a nodata area costs nothing.
          R[i] = pred;
          std::fill_n(errors_here.data() + size_t(x + 1) * kPredictors, kPredictors, 0u);
          coding_errors_here[x + 1] = 0;
          signed_errors_here[x + 1] = 0;
          error_west = 0;
          continue;
        }
      }

      int64_t q = 0;
      if (enc) {
        const int64_t r = job.values[i] - pred;
        q = r >= 0 ? (r + e) / step : -((e - r) / step);
      }
      const int sign_ctx = 3 * sign3(error_west) + sign3(signed_errors_above[x + 1]) + 4;
      int64_t lowest = candidates[0], highest = candidates[0];
      for (int k = 1; k < kPredictors; ++k) lowest = std::min(lowest, candidates[k]), highest = std::max(highest, candidates[k]);
      const int spread_ctx = activity_context(uint64_t((highest - lowest) / step));
      q = code_residual(coder, models->residual[act], &models->spread[spread_ctx], &models->mixers[act],
                        models->negative[act][sign_ctx], q, max_length);
      int64_t v = pred + q * step;
      v = v < lo ? lo : (v > hi ? hi : v);
      if (job.masked && job.nodata_in_domain && v == job.nodata) {
        // Only when e > 0 and the sample lies within e of nodata: move it one
        // step off, to the side the encoder says (error <= e - 1).
        int up_side = up_ok;
        if (up_ok && down_ok) up_side = coder.code(models->above_nodata, enc && job.values[i] > job.nodata);
        v = up_side ? job.nodata + 1 : job.nodata - 1;
      }
      R[i] = v;
      uint32_t *mine = errors_here.data() + size_t(x + 1) * kPredictors;
      for (int k = 0; k < kPredictors; ++k) {
        const int64_t err = abs64(v - candidates[k]) / step;
        mine[k] = uint32_t(err > 65535 ? 65535 : err);
      }
      error_west = v - pred;
      coding_errors_here[x + 1] = abs64(error_west);
      signed_errors_here[x + 1] = error_west;
      bias.sum += error_west;
      if (++bias.count == kBiasWindow) {
        bias.sum /= 2;
        bias.count /= 2;
      }
    }
  }
}

template <class Coder>
void code_table(Coder &coder, std::vector<int64_t> &table, int64_t lo, int64_t hi, size_t max_count) {
  constexpr bool enc = Coder::kEncodes;
  Models::Residual model;
  AdaptiveBit sign;  // never set: counts and gaps are not negative
  const int span_length = bit_length(uint64_t(hi - lo) + 1);
  const int64_t count =
      1 + code_residual(coder, model, nullptr, nullptr, sign, enc ? int64_t(table.size()) - 1 : 0, bit_length(max_count));
  if (!enc) {
    if (count < 1 || uint64_t(count) > max_count) throw Error(MSIC_ERR_FORMAT, "corrupt tile (value table size)");
    table.resize(size_t(count));
  }
  int64_t previous = lo - 1;
  for (int64_t &v : table) {
    const int64_t gap = code_residual(coder, model, nullptr, nullptr, sign, enc ? v - previous - 1 : 0, span_length);
    if (!enc) {
      if (gap < 0 || gap > hi - previous - 1) throw Error(MSIC_ERR_FORMAT, "corrupt tile (value table)");
      v = previous + 1 + gap;
    }
    previous = v;
  }
}

template void code_table<entropy::RangeEncoder>(entropy::RangeEncoder &, std::vector<int64_t> &, int64_t, int64_t,
                                                size_t);
template void code_table<entropy::RangeDecoder>(entropy::RangeDecoder &, std::vector<int64_t> &, int64_t, int64_t,
                                                size_t);
template void code_band<entropy::RangeEncoder>(entropy::RangeEncoder &, const BandJob &);
template void code_band<entropy::RangeDecoder>(entropy::RangeDecoder &, const BandJob &);

}  // namespace msic::predictive
