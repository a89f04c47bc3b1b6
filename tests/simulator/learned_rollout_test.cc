// The learned rollout: shapes, determinism, and checkpointed gradients against finite differences.
#include "tests/torch_catch.h"

#include <malloc.h>

#include <random>

#include "simulator/learned/rollout.h"
#include "tests/simulator/learned_test_support.h"

namespace flowdesign::simulator::learned {
namespace {

TEST_CASE("rollout gradient matches central finite differences (double)", "[learned][gradient]") {
  ModelConfig config = testing::TinyConfig();
  const int variant = GENERATE(0, 1, 2);
  config.global_latent = variant == 1;
  config.volume_state = variant == 2;  // the gradient also flows back through J
  INFO("global latent " << config.global_latent << ", volume state " << config.volume_state);
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

TEST_CASE("a pipelined backward and kept activations give the serial gradient bit for bit", "[learned][gradient]") {
  torch::manual_seed(5);
  ModelConfig config = testing::TinyConfig();
  config.volume_state = GENERATE(false, true);
  INFO("volume state " << config.volume_state);
  LearnedSimulator simulator(config, testing::TypicalNormalization());
  Scene scene = testing::SmallScene(/*frames=*/15);
  scene.emitters.push_back({{0.05, 0.25}, 0.03, {1.0, -0.5}, 0.0, 0.02});  // steps with fewer particles
  const RolloutSetup setup = MakeRolloutSetup(scene, simulator.Config().history);
  const std::vector<int64_t> counts = ObstacleParticleCounts(scene.solids, scene.particle_spacing_m);
  torch::Tensor positions;
  auto gradient = [&](const GradientOptions& options) {
    torch::Tensor caps = CapsuleTensor(scene.solids).requires_grad_(true);
    positions = Rollout(simulator, setup, SampleObstacleParticles(caps, counts), caps, options);
    (positions.select(0, scene.frames) * positions.select(0, scene.frames - 4)).sum().backward();
    return caps.grad();
  };
  const torch::Tensor serial = gradient({Backward::kSerial});
  const torch::Tensor serial_positions = positions.detach().clone();
  REQUIRE(serial.abs().sum().item<double>() > 0.0);
  for (int repeat = 0; repeat < 3; ++repeat) CHECK(torch::equal(gradient({Backward::kPipelined}), serial));
  // Every step kept, a few kept (the rest recomputed), either way round.
  const int64_t all = int64_t{1} << 40, few = 1;  // 1 byte: the first step only
  for (const GradientOptions& options : {GradientOptions{Backward::kSerial, all}, GradientOptions{Backward::kSerial, few},
                                         GradientOptions{Backward::kPipelined, all},
                                         GradientOptions{Backward::kPipelined, few}}) {
    INFO("pipelined " << (options.backward == Backward::kPipelined) << ", kept bytes " << options.kept_activation_bytes);
    CHECK(torch::equal(gradient(options), serial));
    CHECK(torch::equal(positions, serial_positions));  // a kept step's forward pass is the plain one's
  }
}

// In-use heap bytes of this thread's arena (LibTorch's CPU tensors come from malloc).
int64_t HeapInUse() { return static_cast<int64_t>(mallinfo2().uordblks); }

TEST_CASE("a rollout keeps the activations of its first steps within its budget, as StepActivationBytes estimates",
          "[learned][gradient]") {
  // The default model's shape, on a block of 900 particles resting on a floor (a zero decoder
  // keeps it in place, so every step has the same graph).
  ModelConfig config = testing::TinyConfig();
  config.latent_size = config.mlp_hidden_size = 64;
  config.message_passing_steps = 5;
  config.history = 5;
  config.density_projection_iterations = 1;
  torch::manual_seed(11);
  LearnedSimulator simulator(config, testing::TypicalNormalization());
  testing::ZeroDecoder(simulator);
  Scene scene = testing::SmallScene(/*frames=*/6);
  scene.domain = {{0.0, 0.0}, {0.5, 0.5}};
  scene.fluid_positions.clear();
  scene.fluid_velocities.clear();
  testing::AddFluidBlock(scene, {0.1, 0.1}, 30, 30, {0.0, 0.0});
  scene.solids = {{{0.05, 0.09}, {0.45, 0.09}, 0.0}};
  const RolloutSetup setup = MakeRolloutSetup(scene, config.history);
  const torch::Tensor capsules = CapsuleTensor(scene.solids);
  const torch::Tensor obstacles = SampleObstacleParticles(capsules, scene.particle_spacing_m);
  StepGraphSize size;
  {
    torch::NoGradGuard no_grad;
    simulator.Step(setup.initial_states.narrow(0, 0, config.history + 1), obstacles, capsules, scene.domain, {}, nullptr,
                   &size);
  }
  REQUIRE(size.edges > 10 * size.fluid);
  const double per_step = static_cast<double>(simulator.StepActivationBytes(size));

  // Heap growth over the forward pass (positions and kept graphs alive), then the gradient.
  struct Result {
    int64_t growth;
    torch::Tensor gradient;
  };
  const int threads = torch::get_num_threads();
  torch::set_num_threads(1);  // allocations on this thread only, so its arena sees them all
  auto run = [&](int64_t kept_bytes) {
    torch::Tensor caps = capsules.clone().requires_grad_(true);
    const int64_t before = HeapInUse();
    const torch::Tensor positions =
        Rollout(simulator, setup, SampleObstacleParticles(caps, scene.particle_spacing_m), caps, {Backward::kSerial, kept_bytes});
    Result result{HeapInUse() - before, torch::Tensor()};
    positions.select(0, scene.frames).sum().backward();
    result.gradient = caps.grad();
    return result;
  };
  const Result none = run(0), every = run(int64_t{1} << 40);
  const Result three = run(static_cast<int64_t>(2.5 * per_step));  // kept while under the budget: 3 steps
  torch::set_num_threads(threads);
  INFO("estimate per step " << per_step / 1e6 << " MB; growth with none / all 6 / 3 steps kept " << none.growth / 1e6
                            << " / " << every.growth / 1e6 << " / " << three.growth / 1e6 << " MB");
  const double all_six = static_cast<double>(every.growth - none.growth) / (6 * per_step);
  const double first_three = static_cast<double>(three.growth - none.growth) / (3 * per_step);
  CHECK(all_six > 0.8);
  CHECK(all_six < 1.25);
  CHECK(first_three > 0.8);
  CHECK(first_three < 1.25);
  CHECK(torch::equal(every.gradient, none.gradient));
  CHECK(torch::equal(three.gradient, none.gradient));
}

TEST_CASE("a model with a volume state carries J through a rollout", "[learned]") {
  torch::manual_seed(7);
  ModelConfig config = testing::TinyConfig();
  config.volume_state = true;
  LearnedSimulator simulator(config, testing::TypicalNormalization());
  Scene scene = testing::SmallScene(/*frames=*/8);
  scene.emitters.push_back({{0.05, 0.25}, 0.03, {1.0, -0.5}, 0.0, 0.02});
  RolloutSetup setup = MakeRolloutSetup(scene, config.history);
  const torch::Tensor capsules = CapsuleTensor(scene.solids);
  const torch::Tensor obstacles = SampleObstacleParticles(capsules, scene.particle_spacing_m);
  torch::NoGradGuard no_grad;
  torch::Tensor volumes;
  const torch::Tensor positions = Rollout(simulator, setup, obstacles, capsules, {}, &volumes);
  REQUIRE(volumes.sizes().equals({scene.frames + 1, positions.size(1)}));
  CHECK(torch::all(volumes[0] == 1.0).item<bool>());  // fluid at rest, as a design starts
  // Every step moves J by the network's predicted change; a particle keeps J = 1 until it is born.
  const int64_t at_start = std::count(setup.birth_frame.begin(), setup.birth_frame.end(), 0);
  REQUIRE(at_start < positions.size(1));
  CHECK((volumes[scene.frames].narrow(0, 0, at_start) - 1.0).abs().max().item<double>() > 1e-5);
  CHECK(torch::all(volumes[1].narrow(0, at_start, positions.size(1) - at_start) == 1.0).item<bool>());
  // J is an input: another start gives another motion.
  setup.initial_volume = torch::full({positions.size(1)}, 0.99);
  const torch::Tensor compressed = Rollout(simulator, setup, obstacles, capsules);
  CHECK((compressed[scene.frames] - positions[scene.frames]).abs().max().item<double>() > 1e-7);
  // Stepping a volume-state model without J is an error, not a silent J = 1.
  const torch::Tensor window = setup.initial_states.narrow(0, 0, config.history + 1).narrow(1, 0, at_start);
  CHECK_THROWS_WITH(simulator.Step(window, obstacles, capsules, scene.domain), Catch::Contains("next_volume"));
  torch::Tensor next_volume;
  CHECK_THROWS_WITH(simulator.Step(window, obstacles, capsules, scene.domain, {}, &next_volume),
                    Catch::Contains("needs J of every fluid particle"));
}

}  // namespace
}  // namespace flowdesign::simulator::learned
