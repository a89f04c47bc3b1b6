// A post-step correction against the learned fluid's main long-horizon failure: it clumps
// (at 100 steps, 57% of particles had a neighbour closer than half a spacing; MPM: 30%), so a
// block shrinks to a fraction of its area and needs a smaller cup than real water does.
// Position-based fluids' density constraint (Macklin & Mueller 2013), one-sided: where the
// kernel density of the fluid exceeds the density of particles at rest on a square lattice of
// the particle spacing, particles are pushed apart; nothing is pulled together, so free
// surfaces and splashes are untouched. Obstacle particles count towards the density but never
// move, so fluid pressed against a tool is pushed away from it, not through it; and every
// iteration moves a particle by at most `max_shift_spacings`, less than a thin tool's radius.
// Differentiable (which pairs interact is treated as constant).
#pragma once

#include <torch/torch.h>

namespace flowdesign::simulator::learned {

struct DensityProjection {
  double spacing_m = 0.01;
  double kernel_radius_spacings = 2.0;  // h of the poly6 / spiky kernels
  int iterations = 1;                   // Jacobi iterations; 0 = off
  double max_shift_spacings = 0.25;     // per particle and iteration
};

// The poly6 kernel density (unit masses, self included) of particles on an infinite square
// lattice of the spacing: the rest density the constraint keeps the fluid under.
double LatticeRestDensity(const DensityProjection& options);

// Kernel density at each fluid point [n, 2], self and obstacle points [m, 2] included.
torch::Tensor KernelDensity(const torch::Tensor& fluid, const torch::Tensor& obstacles, const DensityProjection& options);

// fluid [n, 2], obstacles [m, 2] (fixed) -> corrected fluid positions [n, 2]. On the CPU each
// iteration is one loop and one autograd node (density_projection_kernel.h); elsewhere it is
// ProjectDensityReference.
torch::Tensor ProjectDensity(const torch::Tensor& fluid, const torch::Tensor& obstacles, const DensityProjection& options);

// The same projection in LibTorch operators: any device and floating dtype, differentiable by
// autograd; the CPU path's reference in tests.
torch::Tensor ProjectDensityReference(const torch::Tensor& fluid, const torch::Tensor& obstacles,
                                      const DensityProjection& options);

}  // namespace flowdesign::simulator::learned
