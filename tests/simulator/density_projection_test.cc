// The post-step density projection: it spreads compressed fluid, leaves fluid at rest and
// isolated particles alone, keeps the centre of mass, moves no particle more than its limit,
// lets obstacles push back, and its gradient matches finite differences; the CPU loop computes
// what the reference in LibTorch operators computes, gradients included.
#include "tests/torch_catch.h"

#include "simulator/learned/density_projection.h"

namespace flowdesign::simulator::learned {
namespace {

// An n x n lattice with the given spacing, lower-left corner at `origin`.
torch::Tensor Lattice(int n, double spacing, double origin = 0.3) {
  std::vector<float> xy;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      xy.push_back(static_cast<float>(origin + i * spacing));
      xy.push_back(static_cast<float>(origin + j * spacing));
    }
  return torch::from_blob(xy.data(), {n * n, 2}, torch::kFloat32).clone();
}

const torch::Tensor kNoObstacles = torch::zeros({0, 2});

TEST_CASE("density projection: rest, compression, isolation, centre of mass", "[learned][density]") {
  DensityProjection options;
  options.spacing_m = 0.01;
  options.iterations = 1;
  SECTION("a lattice at the particle spacing is at rest density and does not move") {
    const torch::Tensor rest = Lattice(12, 0.01);
    const torch::Tensor density = KernelDensity(rest, kNoObstacles, options);
    CHECK(density.max().item<double>() == Approx(LatticeRestDensity(options)).epsilon(1e-4));
    CHECK((ProjectDensity(rest, kNoObstacles, options) - rest).abs().max().item<double>() < 1e-6);
  }
  SECTION("a compressed lattice spreads, keeping its centre of mass") {
    const torch::Tensor squeezed = Lattice(12, 0.007);
    options.iterations = 5;
    const torch::Tensor spread = ProjectDensity(squeezed, kNoObstacles, options);
    const double before = KernelDensity(squeezed, kNoObstacles, options).max().item<double>();
    const double after = KernelDensity(spread, kNoObstacles, options).max().item<double>();
    const double rest = LatticeRestDensity(options);
    INFO("max density before " << before / rest << ", after " << after / rest << " (x rest)");
    CHECK(before > 1.5 * rest);
    CHECK(after < before - 0.4 * (before - rest));
    CHECK(torch::allclose(spread.mean(0), squeezed.mean(0), 0.0, 1e-6));
    // No particle moves more than max_shift per iteration.
    CHECK((spread - squeezed).norm(2, 1).max().item<double>() <= 5 * 0.25 * 0.01 + 1e-6);
  }
  SECTION("isolated particles and an empty set are unchanged") {
    const torch::Tensor apart = torch::tensor({{0.1f, 0.1f}, {0.5f, 0.5f}});
    CHECK(torch::equal(ProjectDensity(apart, kNoObstacles, options), apart));
    CHECK(ProjectDensity(torch::zeros({0, 2}), kNoObstacles, options).size(0) == 0);
  }
  SECTION("off: zero iterations return the input") {
    options.iterations = 0;
    const torch::Tensor squeezed = Lattice(4, 0.005);
    CHECK(torch::equal(ProjectDensity(squeezed, kNoObstacles, options), squeezed));
  }
}

TEST_CASE("density projection: obstacle particles push fluid back", "[learned][density]") {
  DensityProjection options;
  options.spacing_m = 0.01;
  options.iterations = 3;
  // A wall of obstacle particles along y = 0.3 and compressed fluid just above it.
  std::vector<float> wall;
  for (int i = 0; i < 30; ++i) {
    wall.push_back(0.2f + 0.01f * static_cast<float>(i));
    wall.push_back(0.3f);
  }
  const torch::Tensor obstacles = torch::from_blob(wall.data(), {30, 2}, torch::kFloat32).clone();
  const torch::Tensor fluid = Lattice(8, 0.007, 0.0) + torch::tensor({0.32f, 0.307f});
  const torch::Tensor with_wall = ProjectDensity(fluid, obstacles, options);
  const torch::Tensor without = ProjectDensity(fluid, kNoObstacles, options);
  // The fluid pushes its bottom row down; the wall's particles push back, so the bottom row
  // (the first particle of each column) ends higher with the wall than without it.
  const torch::Tensor bottom = torch::arange(0, 64, 8);
  const torch::Tensor lift = with_wall.index_select(0, bottom).select(1, 1) - without.index_select(0, bottom).select(1, 1);
  INFO("lift of the bottom row by the wall: " << lift);
  CHECK(lift.min().item<double>() > 0.0);
  CHECK(lift.mean().item<double>() > 0.1 * 0.01);
}

TEST_CASE("density projection gradient matches central finite differences (double)", "[learned][density][gradient]") {
  DensityProjection options;
  options.spacing_m = 0.01;
  options.iterations = 2;
  options.max_shift_spacings = 10.0;  // the clamp is not smooth where it switches on
  torch::manual_seed(5);
  const torch::Tensor start = (Lattice(5, 0.007).to(torch::kFloat64) + 0.001 * torch::randn({25, 2}, torch::kFloat64));
  const torch::Tensor obstacles = torch::tensor({{0.29, 0.3}, {0.3, 0.29}}, torch::kFloat64);
  const torch::Tensor weights = torch::randn({25, 2}, torch::kFloat64);
  auto objective = [&](const torch::Tensor& x) { return (ProjectDensity(x, obstacles, options) * weights).sum(); };
  torch::Tensor leaf = start.clone().requires_grad_(true);
  objective(leaf).backward();
  const torch::Tensor analytic = leaf.grad();
  const double h = 1e-7;
  double worst = 0.0;
  for (int64_t k = 0; k < 25; k += 3) {
    for (int c = 0; c < 2; ++c) {
      torch::Tensor plus = start.clone(), minus = start.clone();
      plus[k][c] += h;
      minus[k][c] -= h;
      const double fd = (objective(plus).item<double>() - objective(minus).item<double>()) / (2 * h);
      worst = std::max(worst, std::abs(fd - analytic[k][c].item<double>()) / (std::abs(fd) + 1e-3));
    }
  }
  CHECK(worst < 1e-4);
}

// Compressed fluid beside a row of obstacle points, with random jitter: pairs of every kind,
// particles above and below the rest density.
std::pair<torch::Tensor, torch::Tensor> JitteredScene(torch::Dtype dtype, int seed) {
  torch::manual_seed(seed);
  const torch::Tensor fluid = (Lattice(9, 0.0075).to(dtype) + 0.002 * torch::randn({81, 2}, dtype));
  const torch::Tensor obstacles =
      torch::stack({0.29 + 0.009 * torch::arange(12, dtype), torch::full({12}, 0.293, dtype)}, 1);
  return {fluid, obstacles};
}

TEST_CASE("density projection: the CPU loop matches the LibTorch reference, gradients included",
          "[learned][density][gradient]") {
  for (const torch::Dtype dtype : {torch::kFloat32, torch::kFloat64}) {
    for (const double max_shift : {0.25, 0.05}) {  // 0.05: the per-particle limit is on for many
      DensityProjection options;
      options.spacing_m = 0.01;
      options.iterations = 2;
      options.max_shift_spacings = max_shift;
      const auto [fluid, obstacles] = JitteredScene(dtype, 11);
      const torch::Tensor weights = torch::randn({fluid.size(0), 2}, dtype);
      auto run = [&](bool reference) {
        torch::Tensor x = fluid.clone().requires_grad_(true), o = obstacles.clone().requires_grad_(true);
        const torch::Tensor out =
            reference ? ProjectDensityReference(x, o, options) : ProjectDensity(x, o, options);
        (out * weights).sum().backward();
        return std::tuple<torch::Tensor, torch::Tensor, torch::Tensor>{out.detach(), x.grad(), o.grad()};
      };
      const auto [out, grad_fluid, grad_obstacles] = run(false);
      const auto [out_ref, grad_fluid_ref, grad_obstacles_ref] = run(true);
      const double tolerance = dtype == torch::kFloat32 ? 2e-4 : 1e-10;
      INFO("dtype " << dtype << ", max shift " << max_shift);
      CHECK((out - fluid).abs().max().item<double>() > 1e-4);  // it does move particles
      CHECK((out - out_ref).abs().max().item<double>() < tolerance * 0.01);
      CHECK(grad_fluid.defined());
      CHECK(grad_obstacles.defined());
      const double scale = grad_fluid_ref.abs().max().item<double>();
      CHECK(grad_obstacles_ref.abs().max().item<double>() > 1e-3 * scale);  // the obstacles matter
      CHECK((grad_fluid - grad_fluid_ref).abs().max().item<double>() < tolerance * scale);
      CHECK((grad_obstacles - grad_obstacles_ref).abs().max().item<double>() < tolerance * scale);
    }
  }
}

TEST_CASE("density projection gradient with respect to obstacles matches central finite differences (double)",
          "[learned][density][gradient]") {
  DensityProjection options;
  options.spacing_m = 0.01;
  options.iterations = 2;
  const auto [fluid, obstacles] = JitteredScene(torch::kFloat64, 3);
  const torch::Tensor weights = torch::randn({fluid.size(0), 2}, torch::kFloat64);
  auto objective = [&](const torch::Tensor& o) { return (ProjectDensity(fluid, o, options) * weights).sum(); };
  torch::Tensor leaf = obstacles.clone().requires_grad_(true);
  objective(leaf).backward();
  const torch::Tensor analytic = leaf.grad();
  const double h = 1e-7;
  double worst = 0.0, largest = 0.0;
  for (int64_t k = 0; k < obstacles.size(0); ++k) {
    for (int c = 0; c < 2; ++c) {
      torch::Tensor plus = obstacles.clone(), minus = obstacles.clone();
      plus[k][c] += h;
      minus[k][c] -= h;
      const double fd = (objective(plus).item<double>() - objective(minus).item<double>()) / (2 * h);
      largest = std::max(largest, std::abs(fd));
      worst = std::max(worst, std::abs(fd - analytic[k][c].item<double>()) / (std::abs(fd) + 1e-3));
    }
  }
  CHECK(largest > 1e-2);
  CHECK(worst < 1e-4);
}

}  // namespace
}  // namespace flowdesign::simulator::learned
