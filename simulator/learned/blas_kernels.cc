#include "simulator/learned/blas_kernels.h"

#include <dlfcn.h>
#include <strings.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>

namespace flowdesign::simulator::learned {
namespace {

// Calls `function` from the library that provides sgemm_, not from whichever library comes
// first in the lookup (Debian's Ceres also loads a BLAS).
template <typename Result>
Result CallInBlasProvider(const char* function, Result fallback) {
  const std::string path = BlasProviderPath();
  if (path.empty()) return fallback;
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (handle == nullptr) return fallback;
  Result result = fallback;
  if (auto f = reinterpret_cast<Result (*)()>(dlsym(handle, function))) result = f();
  dlclose(handle);
  return result;
}

bool CpuHasAvx512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

bool CpuHasAvx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

}  // namespace

std::string BlasProviderPath() {
  void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
  Dl_info info{};
  if (sgemm == nullptr || dladdr(sgemm, &info) == 0 || info.dli_fname == nullptr) return "";
  return info.dli_fname;
}

std::string OpenBlasConfig() {
  const char* config = CallInBlasProvider<char*>("openblas_get_config", nullptr);
  return config != nullptr ? config : "";
}

std::string OpenBlasCoreName() {
  const char* name = CallInBlasProvider<char*>("openblas_get_corename", nullptr);
  return name != nullptr ? name : "";
}

std::string FittingOpenBlasCore(const std::string& core) {
  // OpenBLAS's x86-64 kernel sets without AVX2, which it also uses for CPUs it does not know.
  static constexpr std::array<const char*, 8> kPreAvx2 = {"prescott", "core2",  "penryn",      "dunnington",
                                                          "nehalem",  "atom",   "sandybridge", "unknown"};
  bool fallback = false;
  for (const char* name : kPreAvx2) fallback = fallback || strcasecmp(core.c_str(), name) == 0;
  if (!fallback) return "";
  if (CpuHasAvx512()) return "SkylakeX";
  if (CpuHasAvx2()) return "Haswell";
  return "";
}

void RestartWithFittingOpenBlasKernels(char** argv) {
  const std::string provider = BlasProviderPath();  // empty in programs without LibTorch
  if (!provider.empty() && OpenBlasConfig().empty()) {
    std::fprintf(stderr,
                 "warning: LibTorch's matrix products run on %s, not OpenBLAS, and may be ~20x slower "
                 "(./run installs and selects libopenblas0-openmp)\n",
                 provider.c_str());
  }
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;  // the user's choice, or our restart
  const std::string core = FittingOpenBlasCore(OpenBlasCoreName());
  if (core.empty()) return;
  setenv("OPENBLAS_CORETYPE", core.c_str(), 1);
  std::fflush(nullptr);
  execv("/proc/self/exe", argv);
  std::fprintf(stderr, "warning: could not restart with OPENBLAS_CORETYPE=%s; matrix products run on slow kernels\n",
               core.c_str());
}

}  // namespace flowdesign::simulator::learned
