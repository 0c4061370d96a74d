// Quantized discretized-Gaussian tables, one per scale of a geometric grid.
// Built once when a model is exported (with libm) and stored in the model
// file; the codec only reads them, so no machine recomputes a probability.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace msic {
struct ModelConfig;
struct ModelFile;
}

namespace msic::entropy {

struct CdfTables {
  // Table t codes values min[t] .. min[t] + size[t] - 2; its last symbol is
  // the escape. cdf has size[t] + 1 entries from offset[t]: 0 .. 65536.
  std::vector<int32_t> cdf, offset, size, min;
  int32_t log2_scale_min_q16 = 0;  // log2 of the first table's scale, Q16
  int32_t steps_per_octave = 8;

  // What the decoder reads first for a slot: per table, one entry per
  // bucket of 65536 / kBuckets slots, the symbols whose intervals hold the
  // bucket's first and last slot. Where they are the same symbol (most
  // slots), the entry also holds its interval, so that the rANS state, the
  // serial heart of every decode, waits on one load. Derived from cdf by
  // index().
  static constexpr int kBuckets = 256;
  struct SlotBucket {
    uint16_t start, freq_minus_1;  // the interval, where first == last
    uint16_t first, last;
  };
  std::vector<SlotBucket> bucket;

  struct SymbolInterval {
    int32_t symbol;
    uint32_t start, freq;
  };

  int count() const { return int(offset.size()); }
  // The symbol k of table t with cdf[k] <= slot < cdf[k + 1] (slot < 65536),
  // and that interval.
  SymbolInterval interval_for_slot(int t, uint32_t slot) const {
    const SlotBucket &b = bucket[size_t(t) * kBuckets + (slot >> 8)];
    if (b.first == b.last) return {b.first, b.start, b.freq_minus_1 + 1u};
    // A binary search without branches on the data (a predictor cannot
    // guess them), over a few symbols at most: c[k] = cdf[k + 1].
    const int32_t *c = cdf.data() + offset[t] + 1;
    const int32_t *base = c + b.first;
    for (int32_t len = b.last - b.first + 1; len > 1;) {
      const int32_t half = len / 2;
      base = base[half - 1] <= int32_t(slot) ? base + half : base;
      len -= half;
    }
    const int32_t k = int32_t(base - c);
    return {k, uint32_t(c[k - 1]), uint32_t(c[k] - c[k - 1])};
  }
  // The symbol that codes `value` in table t: its own, or the escape
  // (size[t] - 1) for a value outside the table. Any int32 value.
  int32_t symbol_for_value(int t, int32_t value) const {
    const int64_t k = int64_t(value) - min[t];
    return k >= 0 && k < size[t] - 1 ? int32_t(k) : size[t] - 1;
  }
  // Table for a scale given as log2 in Q16: integer only. index =
  // round((log2 s - log2 s_min) * steps), floor division on integers.
  int table_for_log2_scale(int64_t log2_scale_q16) const {
    const int64_t d = (log2_scale_q16 - log2_scale_min_q16) * steps_per_octave + 32768;
    const int64_t i = d >= 0 ? d >> 16 : -((-d + 65535) >> 16);
    return int(i < 0 ? 0 : i >= count() ? count() - 1 : i);
  }

  static CdfTables build(const ModelConfig &config);       // export time
  static CdfTables from_model(const ModelFile &model);     // throws Error
  void store(ModelFile &model) const;
  void validate() const;                                   // throws Error
  void index();                                            // fills bucket
};

}  // namespace msic::entropy
