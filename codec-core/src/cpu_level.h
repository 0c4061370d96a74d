// The instruction set the engine's convolutions and the context model's
// dense layers run on: the best this CPU has, or the one a test forces.
// Every level gives the same bits (the engine by its fixed order of
// operations, the context model because it is integer arithmetic).
#pragma once

namespace msic {

enum class CpuLevel { kSse2 = 0, kAvx2 = 1, kAvx512 = 2 };  // x86-64 baseline; +AVX2; +AVX-512 F and BW

CpuLevel best_cpu_level();  // what this CPU (and OS) has
CpuLevel cpu_level();       // the forced one, else the best
// Forces a level for the whole process (-1: the best again); throws Error
// if the CPU lacks it. For tests.
void force_cpu_level(int level);
const char *cpu_level_name(CpuLevel level);

}  // namespace msic
