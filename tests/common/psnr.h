// PSNR for the C++ test suites (tests/core, tests/vips): one definition.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace test {

// PSNR in dB of two 8-bit sample arrays (peak 255): infinity if they are
// identical, NaN if their sizes differ or they are empty, so that any
// threshold check on it fails.
inline double psnr(const std::vector<uint8_t> &a, const std::vector<uint8_t> &b) {
  if (a.size() != b.size() || a.empty()) return std::nan("");
  double se = 0;
  for (size_t i = 0; i < a.size(); ++i) se += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  if (se == 0) return std::numeric_limits<double>::infinity();
  return 10 * std::log10(255.0 * 255.0 * double(a.size()) / se);
}

}  // namespace test
