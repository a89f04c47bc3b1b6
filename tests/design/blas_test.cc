// LibTorch must run on OpenBLAS in every program, including those that link Ceres (whose
// Debian build pulls in ATLAS's libf77blas, which would otherwise win the symbol lookup).
#include "tests/torch_catch.h"

#include "design/optimizer.h"
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

}  // namespace
}  // namespace flowdesign::design
