// Quantized discretized-Gaussian tables, one per scale of a geometric grid.
// Built once when a model is exported (with libm) and stored in the model
// file; the codec only reads them, so no machine recomputes a probability.
#pragma once
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

  int count() const { return int(offset.size()); }
  // Table for a scale given as log2 in Q16: integer only.
  int table_for_log2_scale(int64_t log2_scale_q16) const;

  static CdfTables build(const ModelConfig &config);       // export time
  static CdfTables from_model(const ModelFile &model);     // throws Error
  void store(ModelFile &model) const;
  void validate() const;                                   // throws Error
};

}  // namespace msic::entropy
