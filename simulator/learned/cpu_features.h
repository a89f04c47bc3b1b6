// Run-time CPU features for the kernels that carry their own AVX2 code paths (compiled with
// function-level target attributes, so the rest of the build stays portable).
#pragma once

namespace flowdesign::simulator::learned {

inline bool CpuHasAvx2Fma() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}

}  // namespace flowdesign::simulator::learned
