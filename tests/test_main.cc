// Every test program: first make OpenBLAS use kernels that fit the CPU (the programs that call
// LibTorch would otherwise run on its slow fallback kernels on CPUs it does not know).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "simulator/learned/blas_kernels.h"

int main(int argc, char** argv) {
  flowdesign::simulator::learned::RestartWithFittingOpenBlasKernels(argv);
  return Catch::Session().run(argc, argv);
}
