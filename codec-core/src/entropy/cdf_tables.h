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

  // Where the decoder starts looking for a slot's symbol: per table,
  // kBuckets + 1 entries, bucket[t * (kBuckets + 1) + b] = the symbol whose
  // interval holds slot b * 65536 / kBuckets (the last entry: the last
  // symbol). Derived from cdf by index().
  static constexpr int kBuckets = 256;
  std::vector<int32_t> bucket;

  int count() const { return int(offset.size()); }
  // The symbol k of table t with cdf[k] <= slot < cdf[k + 1] (slot < 65536).
  int32_t symbol_for_slot(int t, uint32_t slot) const {
    const int32_t *c = cdf.data() + offset[t] + 1;  // c[k] = cdf[k + 1]
    const int32_t *b = bucket.data() + size_t(t) * (kBuckets + 1) + (slot >> 8);
    // The answer lies in [b[0], b[1]]: a binary search without branches on
    // the data (a predictor cannot guess them), over a few symbols at most.
    const int32_t *base = c + b[0];
    for (int32_t len = b[1] - b[0] + 1; len > 1;) {
      const int32_t half = len / 2;
      base = base[half] <= int32_t(slot) ? base + half : base;
      len -= half;
    }
    return int32_t(base - c) + (*base <= int32_t(slot));
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
