// LibTorch must run on OpenBLAS in every program, including those that link Ceres (whose
// Debian build pulls in ATLAS's libf77blas, which would otherwise win the symbol lookup).
#include <cstdlib>

#include "tests/torch_catch.h"

#include "design/optimizer.h"
#include "simulator/learned/blas_kernels.h"
#include "simulator/learned/learned_simulator.h"

namespace flowdesign::design {
namespace {

TEST_CASE("LibTorch's sgemm_ is OpenBLAS in a program that also links Ceres", "[blas]") {
  CheckValid(OptimizerOptions{});  // keeps the Ceres-using optimizers linked into this program
  simulator::learned::ConfigureTorchThreads(0);
  const std::string blas = simulator::learned::BlasLibraryInUse();
  INFO("sgemm_ comes from: " << blas << " (./run installs and selects libopenblas0-openmp)");
  CHECK(blas.find("OpenBLAS") != std::string::npos);
}

// The test runner restarts on fitting kernels (tests/test_main.cc), as every program does: on a
// CPU model OpenBLAS does not know it would otherwise sit on its SSE3 fallback, 3-5x slower.
TEST_CASE("OpenBLAS runs kernels that fit the CPU", "[blas]") {
  const std::string core = simulator::learned::OpenBlasCoreName();
  INFO("OpenBLAS kernels: " << core << "; OPENBLAS_CORETYPE="
                            << (std::getenv("OPENBLAS_CORETYPE") ? std::getenv("OPENBLAS_CORETYPE") : "(unset)"));
  REQUIRE_FALSE(core.empty());
  CHECK(simulator::learned::FittingOpenBlasCore(core).empty());
}

TEST_CASE("Only OpenBLAS's pre-AVX2 fallbacks are replaced, and only by kernels the CPU runs", "[blas]") {
  using simulator::learned::FittingOpenBlasCore;
  CHECK(FittingOpenBlasCore("Haswell").empty());
  CHECK(FittingOpenBlasCore("SkylakeX").empty());
  CHECK(FittingOpenBlasCore("Zen").empty());
  const std::string replacement = FittingOpenBlasCore("Prescott");
  CHECK(FittingOpenBlasCore("prescott") == replacement);
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    CHECK((replacement == "Haswell" || replacement == "SkylakeX"));
    if (replacement == "SkylakeX") CHECK(__builtin_cpu_supports("avx512f"));
  } else {
    CHECK(replacement.empty());
  }
}

}  // namespace
}  // namespace flowdesign::design
