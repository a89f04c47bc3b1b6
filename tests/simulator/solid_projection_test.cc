// The post-step solid projection: points inside a solid go to its surface, points that stepped
// through a thin solid go back to the side they came from, everything else stays put; its
// gradient matches finite differences; the CPU loop computes what the reference in LibTorch
// operators computes, gradients included; and a learned step never lets a fast particle through
// a thin tool.
#include "tests/torch_catch.h"

#include "simulator/learned/learned_simulator.h"
#include "tests/simulator/learned_test_support.h"

namespace flowdesign::simulator::learned {
namespace {

// A thin horizontal plate: core from (0.2, 0.5) to (0.8, 0.5), radius 0.005 (1 cm thick).
torch::Tensor Plate() { return torch::tensor({{0.2f, 0.5f, 0.8f, 0.5f, 0.005f}}); }

torch::Tensor Points(std::initializer_list<std::array<float, 2>> xy) {
  std::vector<float> flat;
  for (const auto& p : xy) flat.insert(flat.end(), p.begin(), p.end());
  return torch::from_blob(flat.data(), {static_cast<int64_t>(xy.size()), 2}, torch::kFloat32).clone();
}

TEST_CASE("solid projection: inside to the surface, through to the side it came from", "[learned][solids]") {
  const torch::Tensor plate = Plate();
  SECTION("points outside that crossed nothing are unchanged") {
    const torch::Tensor previous = Points({{0.5f, 0.52f}, {0.1f, 0.5f}, {0.9f, 0.3f}});
    const torch::Tensor next = Points({{0.5f, 0.51f}, {0.15f, 0.5f}, {0.9f, 0.7f}});  // the last passes beside it
    CHECK(torch::equal(ProjectOutOfSolids(next, previous, plate), next));
  }
  SECTION("a point inside goes to the nearest surface") {
    const torch::Tensor previous = Points({{0.5f, 0.51f}, {0.5f, 0.49f}, {0.806f, 0.503f}});
    const torch::Tensor next = Points({{0.5f, 0.503f}, {0.5f, 0.498f}, {0.802f, 0.501f}});
    const torch::Tensor out = ProjectOutOfSolids(next, previous, plate);
    CHECK(out[0][1].item<double>() == Approx(0.505).margin(1e-6));
    CHECK(out[1][1].item<double>() == Approx(0.495).margin(1e-6));
    // Beyond the end the surface is the round cap: 0.005 from (0.8, 0.5), along the offset.
    const double cap = std::hypot(out[2][0].item<double>() - 0.8, out[2][1].item<double>() - 0.5);
    CHECK(cap == Approx(0.005).margin(1e-6));
    CHECK((out[2][1].item<double>() - 0.5) / (out[2][0].item<double>() - 0.8) == Approx(0.5).epsilon(1e-3));
  }
  SECTION("a point that stepped through the plate returns to the side it came from") {
    // 1.6 cm per step through a 1 cm plate: it ends outside, below; the nearest surface is below.
    const torch::Tensor previous = Points({{0.5f, 0.508f}, {0.4f, 0.492f}});
    const torch::Tensor next = Points({{0.51f, 0.492f}, {0.4f, 0.503f}});
    const torch::Tensor out = ProjectOutOfSolids(next, previous, plate);
    CHECK(out[0][0].item<double>() == Approx(0.51).margin(1e-6));
    CHECK(out[0][1].item<double>() == Approx(0.505).margin(1e-6));
    // From below into the upper half (nearest surface above): back below.
    CHECK(out[1][1].item<double>() == Approx(0.495).margin(1e-6));
  }
  SECTION("no solids or no points: unchanged") {
    const torch::Tensor p = Points({{0.5f, 0.5f}});
    CHECK(torch::equal(ProjectOutOfSolids(p, p, torch::zeros({0, 5})), p));
    CHECK(ProjectOutOfSolids(torch::zeros({0, 2}), torch::zeros({0, 2}), plate).size(0) == 0);
  }
}

TEST_CASE("solid projection gradient matches central finite differences", "[learned][solids][gradient]") {
  // Double precision; one point inside, one that crossed, one outside, two capsules.
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const torch::Tensor capsules =
      torch::tensor({0.2, 0.5, 0.8, 0.52, 0.005, 0.6, 0.2, 0.7, 0.6, 0.01}, f64).reshape({2, 5}).requires_grad_(true);
  const torch::Tensor previous = torch::tensor({0.5, 0.52, 0.4, 0.52, 0.3, 0.3}, f64).reshape({3, 2});
  const torch::Tensor points = torch::tensor({0.5, 0.512, 0.41, 0.498, 0.31, 0.29}, f64).reshape({3, 2}).requires_grad_(true);
  const torch::Tensor weights = torch::tensor({0.3, -1.1, 0.7, 0.4, -0.2, 0.9}, f64).reshape({3, 2});
  auto objective = [&](const torch::Tensor& p, const torch::Tensor& c) {
    return (ProjectOutOfSolids(p, previous, c) * weights).sum();
  };
  const auto grads = torch::autograd::grad({objective(points, capsules)}, {points, capsules});
  const double h = 1e-6;
  for (int which = 0; which < 2; ++which) {
    const torch::Tensor base = (which == 0 ? points : capsules).detach();
    for (int64_t k = 0; k < base.numel(); ++k) {
      torch::Tensor plus = base.clone(), minus = base.clone();
      plus.view(-1)[k] += h;
      minus.view(-1)[k] -= h;
      const double fd = which == 0 ? (objective(plus, capsules.detach()) - objective(minus, capsules.detach())).item<double>()
                                   : (objective(points.detach(), plus) - objective(points.detach(), minus)).item<double>();
      INFO((which == 0 ? "points" : "capsules") << " entry " << k);
      CHECK(grads[which].view(-1)[k].item<double>() == Approx(fd / (2 * h)).margin(1e-6));
    }
  }
}

TEST_CASE("solid projection: the CPU loop matches the LibTorch reference, gradients included",
          "[learned][solids][gradient]") {
  // Random steps around four capsules (two overlapping, one degenerate to a disc): points that
  // end inside, points that stepped through a core, points that stay outside.
  for (const torch::Dtype dtype : {torch::kFloat32, torch::kFloat64}) {
    torch::manual_seed(7);
    const torch::Tensor capsules = torch::tensor({0.3, 0.5, 0.7, 0.52, 0.006,   //
                                                  0.5, 0.3, 0.52, 0.7, 0.01,    //
                                                  0.4, 0.4, 0.4, 0.4, 0.03,     //
                                                  0.2, 0.2, 0.8, 0.25, 0.004},
                                                 dtype)
                                       .reshape({4, 5});
    torch::Tensor previous = 0.2 + 0.6 * torch::rand({600, 2}, dtype);
    torch::Tensor points = previous + 0.03 * torch::randn({600, 2}, dtype);
    // 50 of them step down through the thin first capsule's core near its end, from beyond the
    // end: there the side they return to depends on where they came from (along the segment it
    // does not: the normal of a straight core is the same everywhere).
    const torch::Tensor start = torch::tensor({0.7, 0.52}, dtype) +
                                torch::stack({0.001 + 0.003 * torch::rand({50}, dtype),
                                              0.005 + 0.004 * torch::rand({50}, dtype)}, 1);
    previous.narrow(0, 0, 50).copy_(start);
    points.narrow(0, 0, 50).copy_(start + torch::tensor({-0.02, -0.025}, dtype));
    const torch::Tensor weights = torch::randn({600, 2}, dtype);
    auto run = [&](bool reference) {
      torch::Tensor p = points.clone().requires_grad_(true), q = previous.clone().requires_grad_(true);
      torch::Tensor c = capsules.clone().requires_grad_(true);
      const torch::Tensor out = reference ? ProjectOutOfSolidsReference(p, q, c) : ProjectOutOfSolids(p, q, c);
      (out * weights).sum().backward();
      return std::vector<torch::Tensor>{out.detach(), p.grad(), q.grad(), c.grad()};
    };
    const std::vector<torch::Tensor> fused = run(false), reference = run(true);
    const double tolerance = dtype == torch::kFloat32 ? 1e-4 : 1e-10;
    INFO("dtype " << dtype);
    const int64_t moved = (fused[0] - points).abs().sum(1).gt(0).sum().item<int64_t>();
    CHECK(moved > 30);  // enough points projected, some of them through a core
    CHECK(reference[2].abs().max().item<double>() > 0.1);
    for (size_t k = 0; k < fused.size(); ++k) {
      INFO("output " << k << " (0: points, then the gradients of points, previous, capsules)");
      REQUIRE(fused[k].defined());
      const double scale = std::max(1.0, reference[k].abs().max().item<double>());
      CHECK((fused[k] - reference[k]).abs().max().item<double>() < tolerance * scale);
    }
  }
}

TEST_CASE("a learned step keeps fast particles out of a thin tool", "[learned][solids]") {
  // A network that predicts zero acceleration moves particles ballistically: 2 cm per frame
  // straight down onto a 1 cm plate would end below it without the crossing test.
  ModelConfig config = testing::TinyConfig();
  Normalization normalization = testing::TypicalNormalization();
  normalization.acceleration_mean = {0.0, 0.0};
  LearnedSimulator simulator(config, normalization);
  testing::ZeroDecoder(simulator);
  const torch::Tensor plate = Plate();
  torch::Tensor window = torch::zeros({config.history + 1, 3, 2});
  for (int row = 0; row <= config.history; ++row) {
    const float y = 0.512f + 0.02f * static_cast<float>(config.history - row);
    window[row] = Points({{0.3f, y}, {0.5f, y + 0.003f}, {0.7f, y + 0.001f}});
  }
  const torch::Tensor next = simulator.Step(window, torch::zeros({0, 2}), plate, {{0.0, 0.0}, {1.0, 1.0}});
  INFO("heights after the step: " << next.select(1, 1));
  CHECK((next.select(1, 1) >= 0.505 - 1e-6).all().item<bool>());
}

}  // namespace
}  // namespace flowdesign::simulator::learned
