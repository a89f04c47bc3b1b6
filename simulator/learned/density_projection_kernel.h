// The density projection's pieces below its public interface (density_projection.h): the pair
// search both implementations share, and one Jacobi iteration on the CPU as a single autograd
// node. LibTorch's operators spend most of their time on dispatch and on the backward pass's
// index bookkeeping for a few thousand pairs of two-float rows; a plain loop does the same
// arithmetic in a fraction of it.
#pragma once

#include <torch/torch.h>

#include "simulator/learned/density_projection.h"

namespace flowdesign::simulator::learned {

// Pairs closer than h with a fluid receiver i (rows [0, fluid) of `points`) and any sender j,
// found from positions without gradient; ordered by receiver.
struct DensityPairs {
  torch::Tensor i, j;  // int64 [E]
};
DensityPairs PairsWithin(const torch::Tensor& points, int64_t fluid, double h);

// The constants of one iteration, from the options.
struct DensityConstants {
  double h = 0, rest = 0, poly6 = 0, self_density = 0, spiky = 0, max_shift = 0, epsilon = 0;
};
DensityConstants DensityConstantsFor(const DensityProjection& options);

// Whether the CPU iteration applies: CPU tensors of float or double.
bool DensityKernelApplies(const torch::Tensor& fluid, const torch::Tensor& obstacles);

// One Jacobi iteration (the same arithmetic as the reference's loop body), differentiable with
// respect to both the fluid [n, 2] and the obstacle points [m, 2] (of fluid's dtype).
torch::Tensor ProjectDensityIterationCpu(const torch::Tensor& fluid, const torch::Tensor& obstacles,
                                         const DensityProjection& options);

}  // namespace flowdesign::simulator::learned
