#pragma once
// OpenBLAS picks its kernels by CPU model when it loads. Debian's OpenBLAS 0.3.21 does not know
// newer models (e.g. Xeon family 6 model 207) and falls back to its SSE3 "Prescott" kernels:
// measured on such a machine, a 2048^3 float product ran at 63 GFLOP/s with them and at 310 with
// the AVX-512 ("SkylakeX") kernels the CPU supports, and a design rollout took twice as long.
// OpenBLAS reads OPENBLAS_CORETYPE only while it loads, so the fix is a restart with it set.
// Needs no LibTorch: the test runner and every program call it first thing in main.
#include <string>

namespace flowdesign::simulator::learned {

// The file of the shared library whose sgemm_ the dynamic linker binds (the first in the global
// lookup scope), or "" when no sgemm_ is loaded.
std::string BlasProviderPath();

// OpenBLAS's description of itself (version, build options, kernel set), or "" when sgemm_ does
// not come from OpenBLAS.
std::string OpenBlasConfig();

// The kernel set OpenBLAS chose ("SkylakeX", "Haswell", "Prescott", ...), or "" when sgemm_ does
// not come from OpenBLAS.
std::string OpenBlasCoreName();

// The OPENBLAS_CORETYPE that fits this CPU when `core` is one of OpenBLAS's pre-AVX2 fallbacks
// and the CPU has AVX2 and FMA ("Haswell") or AVX-512 ("SkylakeX"); "" when `core` fits.
std::string FittingOpenBlasCore(const std::string& core);

// When OpenBLAS fell back to kernels below what the CPU supports and OPENBLAS_CORETYPE is not
// set, sets it and re-executes this program with the same arguments; otherwise (or when the
// restart fails) returns. Warns on stderr when sgemm_ is not OpenBLAS's. Call it before the
// program does anything else.
void RestartWithFittingOpenBlasKernels(char** argv);

}  // namespace flowdesign::simulator::learned
