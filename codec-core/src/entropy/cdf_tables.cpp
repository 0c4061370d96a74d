#include "entropy/cdf_tables.h"

#include <algorithm>
#include <cmath>

#include "errors.h"
#include "model_file.h"

namespace msic::entropy {

CdfTables CdfTables::build(const ModelConfig &config) {
  CdfTables t;
  t.steps_per_octave = config.scale_steps_per_octave;
  t.log2_scale_min_q16 = int32_t(std::lround(std::log2(double(config.scale_min)) * 65536.0));
  for (int i = 0; i < config.scale_count; ++i) {
    // Use the scale the integer index maps to, so build and lookup agree.
    double scale = std::exp2(t.log2_scale_min_q16 / 65536.0 + double(i) / t.steps_per_octave);
    int r = std::max(1, int(std::ceil(scale * config.table_tail)));
    auto phi = [&](double v) { return 0.5 * std::erfc(-v / (scale * std::sqrt(2.0))); };
    int n = 2 * r + 1;  // values -r..r, then the escape
    std::vector<double> pmf(n + 1);
    double inside = 0;
    for (int k = 0; k < n; ++k) {
      double v = k - r;
      pmf[k] = phi(v + 0.5) - phi(v - 0.5);
      inside += pmf[k];
    }
    pmf[n] = std::max(1.0 - inside, 0.0);
    // Every symbol keeps at least frequency 1; the rest is shared by mass.
    const int64_t total = 1 << 16;
    std::vector<int64_t> freq(n + 1);
    int64_t spare = total - (n + 1);
    int64_t used = 0;
    for (int k = 0; k <= n; ++k) {
      freq[k] = 1 + int64_t(std::floor(pmf[k] * double(spare)));
      used += freq[k];
    }
    // Give what rounding left over to the most likely symbol.
    auto peak = std::max_element(freq.begin(), freq.end());
    *peak += total - used;
    t.offset.push_back(int32_t(t.cdf.size()));
    t.size.push_back(n + 1);
    t.min.push_back(-r);
    int64_t c = 0;
    t.cdf.push_back(0);
    for (int k = 0; k <= n; ++k) t.cdf.push_back(int32_t(c += freq[k]));
  }
  t.validate();
  t.index();
  return t;
}

void CdfTables::validate() const {
  auto bad = [] { throw Error(MSIC_ERR_MODEL, "model file has malformed CDF tables"); };
  if (offset.empty() || offset.size() != size.size() || size.size() != min.size() ||
      steps_per_octave < 1)
    bad();
  for (size_t t = 0; t < offset.size(); ++t) {
    if (size[t] < 2 || offset[t] < 0 || size_t(offset[t]) + size[t] + 1 > cdf.size()) bad();
    const int32_t *c = cdf.data() + offset[t];
    if (c[0] != 0 || c[size[t]] != 65536) bad();
    for (int k = 0; k < size[t]; ++k)
      if (c[k + 1] <= c[k]) bad();
  }
}

CdfTables CdfTables::from_model(const ModelFile &model) {
  CdfTables t;
  t.cdf = model.get("entropy.cdf").i32.vector();
  t.offset = model.get("entropy.offset").i32.vector();
  t.size = model.get("entropy.size").i32.vector();
  t.min = model.get("entropy.min").i32.vector();
  const TensorValues<int32_t> &grid = model.get("entropy.grid").i32;
  if (grid.size() != 2) throw Error(MSIC_ERR_MODEL, "model file has a malformed table grid");
  t.log2_scale_min_q16 = grid[0];
  t.steps_per_octave = grid[1];
  t.validate();
  t.index();
  return t;
}

void CdfTables::index() {
  static_assert(65536 / kBuckets == 256, "interval_for_slot shifts by 8");
  bucket.assign(size_t(count()) * kBuckets, SlotBucket{});
  for (int t = 0; t < count(); ++t) {
    const int32_t *c = cdf.data() + offset[t];
    int32_t k = 0;
    for (int i = 0; i < kBuckets; ++i) {
      SlotBucket &b = bucket[size_t(t) * kBuckets + i];
      while (c[k + 1] <= i * 256) ++k;
      int32_t last = k;
      while (c[last + 1] <= i * 256 + 255) ++last;
      // (validate(): at most 65536 symbols, cdf[k] < 65536 <= cdf[size])
      b.first = uint16_t(k);
      b.last = uint16_t(last);
      if (k == last) {
        b.start = uint16_t(c[k]);
        b.freq_minus_1 = uint16_t(c[k + 1] - c[k] - 1);
      }
    }
  }
}

void CdfTables::store(ModelFile &model) const {
  auto put = [&](const char *name, const std::vector<int32_t> &v) {
    NamedTensor n;
    n.type = NamedTensor::Type::I32;
    n.shape = {int64_t(v.size())};
    n.i32 = v;
    model.tensors[name] = std::move(n);
  };
  put("entropy.cdf", cdf);
  put("entropy.offset", offset);
  put("entropy.size", size);
  put("entropy.min", min);
  put("entropy.grid", {log2_scale_min_q16, steps_per_octave});
}

}  // namespace msic::entropy
