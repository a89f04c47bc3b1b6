// The learned rollout: shapes, determinism, and checkpointed gradients against finite differences.
#include "tests/torch_catch.h"

#include <random>

#include "simulator/learned/rollout.h"
#include "tests/simulator/learned_test_support.h"

namespace flowdesign::simulator::learned {
namespace {

TEST_CASE("rollout gradient matches central finite differences (double)", "[learned][gradient]") {
  ModelConfig config = testing::TinyConfig();
  config.global_latent = GENERATE(false, true);
  INFO("global latent " << config.global_latent);
  torch::manual_seed(3);
  LearnedSimulator simulator(config, testing::TypicalNormalization());
  simulator.To(torch::kFloat64);
  const Scene scene = testing::SmallScene(/*frames=*/12);
  RolloutSetup setup = MakeRolloutSetup(scene, simulator.Config().history);
  setup.initial_states = setup.initial_states.to(torch::kFloat64);
  const torch::Tensor capsules = CapsuleTensor(scene.solids).to(torch::kFloat64);
  const std::vector<int64_t> counts = ObstacleParticleCounts(scene.solids, scene.particle_spacing_m);
  const torch::Tensor weights = torch::randn({scene.frames + 1, static_cast<int64_t>(scene.fluid_positions.size()), 2},
                                             torch::kFloat64);
  auto objective = [&](const torch::Tensor& caps) {
    const torch::Tensor positions = Rollout(simulator, setup, SampleObstacleParticles(caps, counts), caps);
    return (positions.narrow(0, scene.frames - 3, 4) * weights.narrow(0, scene.frames - 3, 4)).sum();
  };
  torch::Tensor leaf = capsules.clone().requires_grad_(true);
  objective(leaf).backward();
  const torch::Tensor analytic = leaf.grad();
  REQUIRE(analytic.abs().sum().item<double>() > 0.0);

  const double h = 1e-6;
  torch::NoGradGuard no_grad;
  for (int64_t k = 0; k < capsules.size(0); ++k) {
    for (int64_t j = 0; j < 4; ++j) {  // endpoint coordinates
      torch::Tensor plus = capsules.clone(), minus = capsules.clone();
      plus[k][j] += h;
      minus[k][j] -= h;
      const double numeric = (objective(plus).item<double>() - objective(minus).item<double>()) / (2 * h);
      const double a = analytic[k][j].item<double>();
      INFO("capsule " << k << " coordinate " << j << ": analytic " << a << ", numeric " << numeric);
      CHECK(std::abs(a - numeric) <= 1e-2 * std::max(1.0, std::abs(numeric)) + 1e-6);
    }
  }
}

TEST_CASE("a pipelined backward gives the serial gradient bit for bit", "[learned][gradient]") {
  torch::manual_seed(5);
  LearnedSimulator simulator(testing::TinyConfig(), testing::TypicalNormalization());
  Scene scene = testing::SmallScene(/*frames=*/15);
  scene.emitters.push_back({{0.05, 0.25}, 0.03, {1.0, -0.5}, 0.0, 0.02});  // steps with fewer particles
  const RolloutSetup setup = MakeRolloutSetup(scene, simulator.Config().history);
  const std::vector<int64_t> counts = ObstacleParticleCounts(scene.solids, scene.particle_spacing_m);
  auto gradient = [&](Backward backward) {
    torch::Tensor caps = CapsuleTensor(scene.solids).requires_grad_(true);
    const torch::Tensor positions = Rollout(simulator, setup, SampleObstacleParticles(caps, counts), caps, backward);
    (positions.select(0, scene.frames) * positions.select(0, scene.frames - 4)).sum().backward();
    return caps.grad();
  };
  const torch::Tensor serial = gradient(Backward::kSerial);
  REQUIRE(serial.abs().sum().item<double>() > 0.0);
  for (int repeat = 0; repeat < 3; ++repeat) CHECK(torch::equal(gradient(Backward::kPipelined), serial));
}

}  // namespace
}  // namespace flowdesign::simulator::learned
