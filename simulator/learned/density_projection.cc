#include "simulator/learned/density_projection.h"

#include <cmath>
#include <vector>

#include "simulator/learned/density_projection_kernel.h"

namespace flowdesign::simulator::learned {
namespace {

constexpr double kPi = 3.14159265358979323846;

double Poly6(double r, double h) { return r < h ? 4.0 / (kPi * std::pow(h, 8)) * std::pow(h * h - r * r, 3) : 0.0; }

// Density at the fluid rows [0, fluid), from the squared pair distances r2 [E].
torch::Tensor DensityOver(const torch::Tensor& r2, int64_t fluid, const DensityPairs& pairs, double h) {
  const torch::Tensor w = 4.0 / (kPi * std::pow(h, 8)) * (h * h - r2).clamp_min(0.0).pow(3);
  return torch::full({fluid}, Poly6(0.0, h), r2.options()).index_add(0, pairs.i, w);
}

}  // namespace

double LatticeRestDensity(const DensityProjection& options) {
  const double h = options.kernel_radius_spacings * options.spacing_m;
  const int reach = static_cast<int>(std::ceil(options.kernel_radius_spacings));
  double density = 0.0;
  for (int a = -reach; a <= reach; ++a)
    for (int b = -reach; b <= reach; ++b) density += Poly6(options.spacing_m * std::hypot(a, b), h);
  return density;
}

torch::Tensor KernelDensity(const torch::Tensor& fluid, const torch::Tensor& obstacles, const DensityProjection& options) {
  const double h = options.kernel_radius_spacings * options.spacing_m;
  const torch::Tensor points = torch::cat({fluid, obstacles.to(fluid.dtype())});
  const DensityPairs pairs = PairsWithin(points, fluid.size(0), h);
  const torch::Tensor r2 = (points.index_select(0, pairs.i) - points.index_select(0, pairs.j)).pow(2).sum(1);
  return DensityOver(r2, fluid.size(0), pairs, h);
}

torch::Tensor ProjectDensityReference(const torch::Tensor& fluid, const torch::Tensor& obstacles,
                                      const DensityProjection& options) {
  const int64_t n = fluid.size(0);
  if (options.iterations <= 0 || n == 0) return fluid;
  const DensityConstants c = DensityConstantsFor(options);
  const double h = c.h, rest = c.rest;
  const torch::Tensor fixed = obstacles.to(fluid.dtype());
  const torch::Tensor no_lambda = torch::zeros({fixed.size(0)}, fluid.options());
  torch::Tensor x = fluid;
  for (int iteration = 0; iteration < options.iterations; ++iteration) {
    const torch::Tensor points = torch::cat({x, fixed});
    const DensityPairs pairs = PairsWithin(points, n, h);
    if (pairs.i.numel() == 0) break;
    const torch::Tensor d = points.index_select(0, pairs.i) - points.index_select(0, pairs.j);
    const torch::Tensor r2 = d.pow(2).sum(1, true);
    // The epsilon keeps the direction (and its gradient) finite for coincident particles.
    const torch::Tensor r = (r2 + 1e-14).sqrt();
    const torch::Tensor grad_w = c.spiky * (h - r).clamp_min(0.0).pow(2) * d / r;  // d/dx_i W(x_i - x_j), [E, 2]
    const torch::Tensor constraint = (DensityOver(r2.squeeze(1), n, pairs, h) / rest - 1.0).clamp_min(0.0);
    const torch::Tensor own = torch::zeros_like(x).index_add(0, pairs.i, grad_w) / rest;
    // Only fluid neighbours move with the constraint; obstacles stay put.
    const torch::Tensor movable = (pairs.j < n).to(x.dtype());
    const torch::Tensor others = torch::zeros({n}, x.options()).index_add(0, pairs.i, movable * grad_w.pow(2).sum(1) / (rest * rest));
    const torch::Tensor lambda = torch::cat({-constraint / (own.pow(2).sum(1) + others + c.epsilon), no_lambda});
    // An obstacle neighbour mirrors the fluid particle's lambda (it pushes as hard as a fluid
    // neighbour would), so fluid is not squeezed against tools by the fluid behind it.
    const torch::Tensor lambda_i = lambda.index_select(0, pairs.i);
    const torch::Tensor lambda_j = torch::where(pairs.j < n, lambda.index_select(0, pairs.j), lambda_i);
    const torch::Tensor weight = (lambda_i + lambda_j).unsqueeze(1);
    const torch::Tensor shift = torch::zeros_like(x).index_add(0, pairs.i, weight * grad_w) / rest;
    const torch::Tensor length = (shift.pow(2).sum(1, true) + 1e-20).sqrt();
    x = x + shift * (c.max_shift / length).clamp_max(1.0);
  }
  return x;
}

torch::Tensor ProjectDensity(const torch::Tensor& fluid, const torch::Tensor& obstacles, const DensityProjection& options) {
  if (options.iterations <= 0 || fluid.size(0) == 0) return fluid;
  const torch::Tensor fixed = obstacles.to(fluid.dtype());
  if (!DensityKernelApplies(fluid, fixed)) return ProjectDensityReference(fluid, obstacles, options);
  torch::Tensor x = fluid;
  for (int iteration = 0; iteration < options.iterations; ++iteration) x = ProjectDensityIterationCpu(x, fixed, options);
  return x;
}

}  // namespace flowdesign::simulator::learned
