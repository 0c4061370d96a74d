#include "cpu_level.h"

#include <atomic>
#include <string>

#include "errors.h"

namespace msic {
namespace {
std::atomic<int> forced_level{-1};
}

CpuLevel best_cpu_level() {
  // (__builtin_cpu_supports also checks that the OS saves the registers.)
  static const CpuLevel level = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
                                    ? CpuLevel::kAvx512
                                : __builtin_cpu_supports("avx2") ? CpuLevel::kAvx2
                                                                 : CpuLevel::kSse2;
  return level;
}

CpuLevel cpu_level() {
  const int forced = forced_level.load(std::memory_order_relaxed);
  return forced >= 0 ? CpuLevel(forced) : best_cpu_level();
}

void force_cpu_level(int level) {
  if (level > int(best_cpu_level()))
    throw Error(MSIC_ERR_UNSUPPORTED, std::string("this CPU has no ") + cpu_level_name(CpuLevel(level)));
  forced_level.store(level < 0 ? -1 : level, std::memory_order_relaxed);
}

const char *cpu_level_name(CpuLevel level) {
  switch (level) {
    case CpuLevel::kAvx512: return "avx512";
    case CpuLevel::kAvx2: return "avx2";
    default: return "sse2";
  }
}

}  // namespace msic
