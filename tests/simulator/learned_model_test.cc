// Model files, the neighbour search, training (loss falls, resume continues the same run) and
// evaluation, on a tiny model and a tiny data set made in the test.
#include "tests/torch_catch.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "simulator/data_generation/generate.h"
#include "simulator/ground_truth/mpm_solver.h"
#include "simulator/learned/model_average.h"
#include "simulator/learned/model_file.h"
#include "simulator/learned/radius_graph.h"
#include "simulator/training/dataset.h"
#include "simulator/training/evaluation.h"
#include "simulator/training/example.h"
#include "simulator/training/parallel_for.h"
#include "simulator/training/trainer.h"
#include "tasks/file_util.h"
#include "tests/simulator/learned_test_support.h"
#include "tests/test_support.h"

namespace flowdesign::simulator::learned {
namespace {

namespace fs = std::filesystem;

TEST_CASE("radius graph equals brute force, without self edges, receivers restricted", "[learned]") {
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> u(0.0f, 0.3f);
  const int n = 400;
  std::vector<float> xy(2 * n);
  for (float& v : xy) v = u(rng);
  std::vector<uint8_t> receives(n, 0);
  for (int i = 0; i < n; i += 3) receives[i] = 1;
  const double radius = 0.025;
  const EdgeList edges = RadiusGraph(xy.data(), n, receives, radius);
  std::set<std::pair<int64_t, int64_t>> found;
  for (size_t e = 0; e < edges.senders.size(); ++e) found.insert({edges.senders[e], edges.receivers[e]});
  REQUIRE(found.size() == edges.senders.size());  // no duplicates
  std::set<std::pair<int64_t, int64_t>> expected;
  for (int r = 0; r < n; ++r) {
    if (!receives[r]) continue;
    for (int s = 0; s < n; ++s) {
      const float dx = xy[2 * s] - xy[2 * r], dy = xy[2 * s + 1] - xy[2 * r + 1];
      if (s != r && dx * dx + dy * dy < radius * radius) expected.insert({s, r});
    }
  }
  CHECK(found == expected);
  CHECK(expected.size() > 100);
}

TEST_CASE("model files round-trip and reject corrupt, incompatible or newer files", "[learned]") {
  const std::string dir = flowdesign::testing::OutputDir("model_file");
  torch::manual_seed(1);
  LearnedSimulator simulator(testing::TinyConfig(), testing::TypicalNormalization());
  const std::string path = dir + "/model.fdm";
  SaveModel(path, simulator, {{"note", "test"}});
  ModelFile file;
  auto loaded = LoadModel(path, &file);
  CHECK(file.metadata.at("note") == "test");
  CHECK(ModelConfigToJson(loaded->Config()) == ModelConfigToJson(simulator.Config()));
  CHECK(loaded->Norm().acceleration_std == simulator.Norm().acceleration_std);
  for (const auto& item : simulator.Network()->named_parameters()) {
    CHECK(torch::equal(item.value(), NetworkTensors(*loaded).at(item.key())));
  }

  std::string bytes = tasks::ReadFile(path);
  SECTION("a flipped data byte fails the checksum") {
    bytes[bytes.size() - 3] ^= 0x40;
    tasks::WriteFileAtomically(dir + "/corrupt.fdm", bytes);
    REQUIRE_THROWS_WITH(LoadModel(dir + "/corrupt.fdm"), Catch::Contains("corrupt.fdm") && Catch::Contains("checksum mismatch"));
  }
  SECTION("a truncated file") {
    tasks::WriteFileAtomically(dir + "/short.fdm", bytes.substr(0, bytes.size() - 10));
    REQUIRE_THROWS_WITH(LoadModel(dir + "/short.fdm"), Catch::Contains("short.fdm") && Catch::Contains("truncated"));
  }
  SECTION("a newer format version") {
    bytes[8] = 7;
    tasks::WriteFileAtomically(dir + "/new.fdm", bytes);
    REQUIRE_THROWS_WITH(LoadModel(dir + "/new.fdm"), Catch::Contains("unsupported model format version 7"));
  }
  SECTION("not a model file") {
    tasks::WriteFileAtomically(dir + "/text.fdm", "hello, this is not a model");
    REQUIRE_THROWS_WITH(LoadModel(dir + "/text.fdm"), Catch::Contains("not a flowdesign model file"));
  }
  SECTION("a tensor whose shape does not match the config") {
    ModelFile wrong = file;
    wrong.config.latent_size = 24;
    WriteModelFile(dir + "/wrong.fdm", wrong);
    REQUIRE_THROWS_WITH(LoadModel(dir + "/wrong.fdm"), Catch::Contains("wrong.fdm: tensor") && Catch::Contains("the config needs"));
  }
  SECTION("a missing file") {
    REQUIRE_THROWS_WITH(LoadModel(dir + "/absent.fdm"), Catch::Contains("absent.fdm"));
  }
}

// A tiny data set (4 short trajectories per split) in a folder of the calling test's own: ctest
// runs tests in parallel processes, and a shared folder was deleted by one while another read it.
std::string TinyData(const std::string& test, uint64_t seed = 5, GroundTruthPhysics physics = {},
                     bool record_mpm_state = false) {
  const std::string dir = std::string(FLOWDESIGN_TEST_OUTPUT_DIR) + "/tiny_data_" + test;
  data::Recipe recipe;
  recipe.seed = seed;
  recipe.physics = physics;
  recipe.record_mpm_state = record_mpm_state;
  recipe.train = 4;
  recipe.valid = 2;
  recipe.test = 2;
  recipe.frames = 30;
  recipe.max_particles = 200;
  fs::remove_all(dir);
  data::GenerateData(recipe, dir, {});
  return dir;
}

training::TrainConfig TinyTrainConfig(int64_t steps) {
  training::TrainConfig config;
  config.model = testing::TinyConfig();
  config.training.steps = steps;
  config.training.batch_size = 2;
  config.training.learning_rate = 3e-3;
  config.training.decay_steps = 1000;
  config.training.validate_every = 20;
  config.training.validation_samples = 8;
  config.training.validation_rollouts = 1;
  config.training.validation_rollout_steps = 10;
  config.training.log_every = 10;
  config.training.threads = 1;
  return config;
}

std::vector<double> TrainLosses(const std::string& log_path) {
  std::ifstream in(log_path);
  std::string line;
  std::getline(in, line);
  std::vector<double> losses;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
    if (cells.size() > 3 && !cells[3].empty()) losses.push_back(std::stod(cells[3]));
  }
  return losses;
}

// A small scene whose emitter gives birth to particles over time, as training tensors.
training::TrajectoryTensors EmitterTrajectory(int frames, const ModelConfig& config) {
  Scene scene = testing::SmallScene(frames);
  scene.emitters.push_back({{0.05, 0.25}, 0.03, {1.0, -0.5}, 0.0, 0.02});
  return training::ToTensors(SimulateMpm(scene, {}), config.history);
}

// Two runs' checkpoints hold bit-identical tensors (network, Adam moments, averages).
void CheckSameCheckpoints(const std::string& dir_a, const std::string& dir_b) {
  const ModelFile a = ReadModelFile(dir_a + "/checkpoint.fdm"), b = ReadModelFile(dir_b + "/checkpoint.fdm");
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (const auto& [name, tensor] : a.tensors) {
    INFO(name);
    CHECK(torch::equal(tensor, b.tensors.at(name)));
  }
}

TEST_CASE("training lowers the loss, and a resumed run continues exactly where it stopped", "[learned][training]") {
  const std::string data = TinyData("train");
  const std::string straight = flowdesign::testing::OutputDir("train_straight");
  const std::string resumed = flowdesign::testing::OutputDir("train_resumed");
  auto quiet = [](const std::string&) {};
  const auto summary = training::Train(data, TinyTrainConfig(80), straight, quiet);
  CHECK(summary.finished);
  CHECK(fs::exists(straight + "/model.fdm"));
  const std::vector<double> losses = TrainLosses(straight + "/log.csv");
  REQUIRE(losses.size() == 8);
  CHECK((losses[6] + losses[7]) < 0.8 * (losses[0] + losses[1]));

  // Stop at step 30 (as if killed right after a checkpoint), then resume to 80.
  training::Train(data, TinyTrainConfig(30), resumed, quiet);
  const auto second = training::Train(data, TinyTrainConfig(80), resumed, quiet);
  CHECK(second.steps == 80);
  CheckSameCheckpoints(straight, resumed);
  CHECK(TrainLosses(resumed + "/log.csv") == losses);

  SECTION("evaluation: every horizon, and the one-step error of a model that predicts zero") {
    auto simulator = LoadModel(straight + "/model.fdm");
    const training::Dataset test = training::LoadSplit(data, "test", simulator->Config().history);
    const training::EvaluationReport report = training::EvaluateModel(*simulator, test, {});
    REQUIRE(report.horizons.size() == 4);
    CHECK(report.horizons.back().steps == -1);
    CHECK(std::isfinite(report.one_step_mse));
    CHECK(report.horizons.front().mean_error_spacings > 0.0);
    for (const training::HorizonError& h : report.horizons) {
      REQUIRE(h.trajectory_errors_spacings.size() == test.trajectories.size());
      double sum = 0.0;
      for (double e : h.trajectory_errors_spacings) sum += e;
      CHECK(h.mean_error_spacings == Approx(sum / test.trajectories.size()));
      CHECK(h.median_error_spacings == Approx(training::Median(h.trajectory_errors_spacings)));
    }
    CHECK(report.ToJson()["horizons"][0]["trajectory_errors_spacings"].size() == test.trajectories.size());

    // With a zero decoder the one-step error is the mean squared normalized ground-truth
    // acceleration, computed here straight from the trajectories (every frame, stride 1).
    testing::ZeroDecoder(*simulator);
    training::EvaluationOptions every_frame;
    every_frame.one_step_stride = 1;
    const training::EvaluationReport zero = training::EvaluateModel(*simulator, test, every_frame);
    const double mse = zero.one_step_mse;
    const auto& n = simulator->Norm();
    double sum = 0.0, sum_spacings = 0.0, count = 0.0;
    for (const training::TrajectoryTensors& t : test.trajectories) {
      for (int frame = 0; frame + 1 < t.Frames(); ++frame) {
        const int64_t alive = t.AliveAt(frame);
        const torch::Tensor a = t.Frame(frame + 1, alive) - 2 * t.Rows(frame, 1, alive)[0] + t.Rows(frame - 1, 1, alive)[0];
        for (int k = 0; k < 2; ++k) {
          const torch::Tensor z = (a.select(1, k).to(torch::kFloat64) - n.acceleration_mean[k]) / n.acceleration_std[k];
          sum += z.pow(2).sum().item<double>();
          sum_spacings += (z * n.acceleration_std[k] / t.particle_spacing_m).pow(2).sum().item<double>();
        }
        count += 2.0 * alive;
      }
    }
    CHECK(mse == Approx(sum / count).epsilon(1e-4));
    // The same error in spacings, and its parts: predicting no acceleration misses gravity for
    // the whole fluid (a shared part) and the deceleration of whole regions at impacts (a rest
    // smoother than the same errors shuffled among the particles).
    CHECK(zero.one_step_rms_spacings == Approx(std::sqrt(sum_spacings / count)).epsilon(1e-4));
    CHECK(zero.one_step_bulk_rms_spacings > 0.2 * zero.one_step_rms_spacings);
    CHECK(zero.one_step_bulk_rms_spacings < zero.one_step_rms_spacings);
    CHECK(zero.one_step_smooth_rms_spacings > zero.one_step_shuffled_smooth_rms_spacings);
  }
}

TEST_CASE("training data starts the way a design rollout starts", "[learned][data]") {
  // A falling block plus an emitter: the rows a training window sees before each particle's
  // birth must be the rows MakeRolloutSetup gives the same scene, else the model never learns
  // how fluid at rest starts to move (it hovered: windows used to begin at frame `history`).
  Scene scene = testing::SmallScene(/*frames=*/20);
  scene.emitters.push_back({{0.05, 0.25}, 0.03, {1.0, -0.5}, 0.0, 0.05});
  const Trajectory data = SimulateMpm(scene, {});
  const int history = 3;
  const training::TrajectoryTensors t = training::ToTensors(data, history);
  REQUIRE(t.Frames() == scene.frames + 1);
  const RolloutSetup from_data = training::SetupFromData(t, 0, scene.frames);
  const RolloutSetup design = MakeRolloutSetup(scene, history);
  REQUIRE(from_data.birth_frame == design.birth_frame);
  REQUIRE(*std::max_element(design.birth_frame.begin(), design.birth_frame.end()) > 0);
  for (size_t i = 0; i < design.birth_frame.size(); ++i) {
    const int64_t rows = history + design.birth_frame[i] + 1;
    INFO("particle " << i << " born at frame " << design.birth_frame[i]);
    CHECK(torch::allclose(from_data.initial_states.narrow(0, 0, rows).select(1, i),
                          design.initial_states.narrow(0, 0, rows).select(1, i), 0.0, 1e-6));
  }
  // Before frame 0 the block falls at its initial velocity (0, -0.5) m/s.
  const torch::Tensor velocity = t.Rows(-history + 1, history, 1) - t.Rows(-history, history, 1);
  CHECK(torch::allclose(velocity.squeeze(1), torch::tensor({0.0f, -0.0025f}).expand({history, 2}), 0.0, 1e-6));
  CHECK_THROWS_AS(training::SetupFromData(t, 1, scene.frames), std::invalid_argument);
}

TEST_CASE("a pushforward example takes its window from the model's rollout and restores the true velocity", "[learned][training]") {
  const ModelConfig config = testing::TinyConfig();
  const training::TrajectoryTensors t = EmitterTrajectory(/*frames=*/12, config);
  torch::manual_seed(3);
  LearnedSimulator simulator(config, testing::TypicalNormalization());
  const int c = config.history, frame = 8;
  std::mt19937_64 rng(1);
  for (int steps : {1, 2, 5}) {
    INFO("pushforward of " << steps << " steps");
    const int64_t alive = t.AliveAt(frame);
    const torch::Tensor window = training::PushforwardWindow(simulator, t, frame, steps, torch::kCPU);
    REQUIRE(window.sizes() == torch::IntArrayRef({c + 1, alive, 2}));
    // Frames up to frame - steps are ground truth; later ones are the model's own rollout.
    torch::Tensor rollout;
    {
      torch::NoGradGuard no_grad;
      rollout = Rollout(simulator, training::SetupFromData(t, frame - steps, steps), t.obstacles, t.capsules);
    }
    for (int j = 0; j <= c; ++j) {
      const int f = frame - c + j;
      const torch::Tensor expected = f <= frame - steps ? t.Frame(f, alive) : rollout[f - (frame - steps)];
      CHECK(torch::allclose(window[j], expected, 0.0, 1e-7));
    }
    CHECK((window[c] - t.Frame(frame, alive)).abs().max().item<double>() > 1e-6);  // the model drifted
    // The target acceleration keeps the drifted position and restores the true velocity.
    const training::Example e = training::MakeExample(simulator, t, frame, 0.0, rng, torch::kCPU, steps);
    const auto& n = simulator.Norm();
    const torch::Tensor a = e.target * torch::tensor({n.acceleration_std[0], n.acceleration_std[1]}).to(torch::kFloat32) +
                            torch::tensor({n.acceleration_mean[0], n.acceleration_mean[1]}).to(torch::kFloat32);
    const torch::Tensor next = 2 * window[c] - window[c - 1] + a;
    CHECK(torch::allclose(next - window[c], t.Frame(frame + 1, alive) - t.Frame(frame, alive), 0.0, 1e-6));
  }
  CHECK_THROWS_WITH(training::PushforwardWindow(simulator, t, 2, 3, torch::kCPU), Catch::Contains("does not fit"));
}

TEST_CASE("a restart target is the ground truth's next frame from the window's own positions", "[learned][training]") {
  const ModelConfig config = testing::TinyConfig();
  const int c = config.history;
  const GroundTruthRun ground_truth = MpmGroundTruthRun();
  // A layer of water 4 particles deep resting on the floor from wall to wall (no solids), its
  // state recorded.
  Scene scene = testing::SmallScene(12);
  scene.solids.clear();
  scene.wall_capsule_count = 0;
  scene.fluid_positions.clear();
  scene.fluid_velocities.clear();
  testing::AddFluidBlock(scene, {0.005, 0.005}, 30, 4, {0.0, 0.0});
  const training::TrajectoryTensors t =
      training::ToTensors(SimulateMpm(scene, {}, {}, nullptr, /*record_state=*/true), c);
  REQUIRE(t.mpm_state.defined());
  const int frame = 8;
  const int64_t alive = t.AliveAt(frame);
  const torch::Tensor truth = t.Rows(frame - c, c + 1, alive);
  // From the ground truth's own window it is the data's next frames, bit for bit.
  CHECK(torch::equal(training::RestartedFrames(ground_truth, t, frame, truth, {}, 3), t.Rows(frame, 4, alive)));
  const double g_dt2 = 9.81 * scene.frame_dt_s * scene.frame_dt_s;
  auto mean_drop = [&](const torch::Tensor& from, const torch::Tensor& to) {  // m, mean over the fluid
    return (from - to).select(1, 1).mean().item<double>();
  };
  const double resting_drop = mean_drop(t.Frame(frame, alive), t.Frame(frame + 1, alive));
  // The whole window lifted 10 spacings off the floor: the restarted ground truth falls from
  // there (about g dt^2 / 2 in the frame), where the plain target would keep it resting.
  const torch::Tensor lifted = truth + torch::tensor({0.0, 0.1});
  const double lifted_drop = mean_drop(lifted[c], training::RestartedFrames(ground_truth, t, frame, lifted, {}, 1)[1]);
  INFO("mean drop in the frame, in units of g dt^2: resting " << resting_drop / g_dt2 << ", lifted " << lifted_drop / g_dt2);
  CHECK(std::abs(resting_drop) < 0.1 * g_dt2);
  CHECK(lifted_drop - resting_drop > 0.3 * g_dt2);
  CHECK(lifted_drop - resting_drop < 1.2 * g_dt2);
  // The last frame alone off by d (a velocity error of d per frame): the restart keeps the
  // position offset and the true velocity, as the plain target does.
  torch::Tensor kicked = truth.clone();
  kicked[c] += torch::tensor({0.2, 0.1}) * scene.particle_spacing_m;
  const torch::Tensor offset = training::RestartedFrames(ground_truth, t, frame, kicked, {}, 1)[1] - t.Frame(frame + 1, alive);
  INFO("largest deviation from the offset, in spacings: "
       << (offset - (kicked[c] - truth[c])).abs().max().item<double>() / scene.particle_spacing_m);
  CHECK(torch::allclose(offset, kicked[c] - truth[c], 0.0, 0.05 * scene.particle_spacing_m));

  // MakeExample: without a drift the restarted target is the plain one; a pushed-forward window
  // learns the restarted target.
  torch::manual_seed(3);
  LearnedSimulator simulator(config, testing::TypicalNormalization());
  std::mt19937_64 rng(1);
  for (int steps : {0, 3}) {
    INFO("pushforward of " << steps << " steps");
    training::ExampleDraw draw = training::DrawExample(t, frame, c, 0.0, steps, rng);
    const training::Example plain = training::MakeExample(simulator, draw, torch::kCPU);
    draw.restart = &ground_truth;
    const training::Example restarted = training::MakeExample(simulator, draw, torch::kCPU);
    const torch::Tensor window = steps > 0 ? training::PushforwardWindow(simulator, t, frame, steps, torch::kCPU) : truth;
    const auto& n = simulator.Norm();
    const torch::Tensor a = restarted.target * torch::tensor({n.acceleration_std[0], n.acceleration_std[1]}).to(torch::kFloat32) +
                            torch::tensor({n.acceleration_mean[0], n.acceleration_mean[1]}).to(torch::kFloat32);
    const torch::Tensor next_restarted = 2 * window[c] - window[c - 1] + a;
    CHECK(torch::allclose(next_restarted, training::RestartedFrames(ground_truth, t, frame, window, {}, 1)[1], 0.0, 1e-6));
    if (steps == 0) CHECK(torch::equal(restarted.target, plain.target));
    if (steps > 0) CHECK((window[c] - truth[c]).abs().max().item<double>() > 1e-6);  // the model drifted
    // An unrolled example follows the restarted ground truth's frames.
    const training::UnrolledExample unrolled = training::MakeUnrolledExample(simulator, draw, 3, torch::kCPU);
    REQUIRE(unrolled.steps == 3);
    CHECK(torch::equal(unrolled.truth, training::RestartedFrames(ground_truth, t, frame, window, {}, 3)));
    // Noise is not restarted from: with it, a window of the ground truth still learns the
    // ground truth's target, and a pushed-forward one the restart from its state before noise.
    training::ExampleDraw noisy = training::DrawExample(t, frame, c, 3e-4, steps, rng);
    const training::Example noisy_plain = training::MakeExample(simulator, noisy, torch::kCPU);
    noisy.restart = &ground_truth;
    const training::Example noisy_restarted = training::MakeExample(simulator, noisy, torch::kCPU);
    const torch::Tensor shift = (noisy_restarted.target - restarted.target) - (noisy_plain.target - plain.target);
    CHECK(shift.abs().max().item<double>() < 1e-3);
    if (steps == 0) CHECK(torch::equal(noisy_restarted.target, noisy_plain.target));
  }
  // Data without the recorded state cannot restart.
  const training::TrajectoryTensors unrecorded = training::ToTensors(SimulateMpm(scene, {}), c);
  CHECK_THROWS_WITH(training::RestartedFrames(ground_truth, unrecorded, frame, truth, {}, 1),
                    Catch::Contains("record_mpm_state"));
}

TEST_CASE("training with restart targets runs on recorded data and refuses data without it", "[learned][training]") {
  const std::string recorded = TinyData("restart_recorded", 5, {}, true);
  const std::string plain = TinyData("restart_plain", 5, {}, false);
  REQUIRE(fs::exists(recorded + "/train/00000/mpm_state.npy"));
  REQUIRE(!fs::exists(plain + "/train/00000/mpm_state.npy"));
  training::TrainConfig config = TinyTrainConfig(20);
  config.training.pushforward_max_steps = 3;
  config.training.pushforward_fraction = 1.0;
  config.training.pushforward_restart_targets = true;
  auto quiet = [](const std::string&) {};
  const std::string out = flowdesign::testing::OutputDir("train_restart");
  CHECK_THROWS_WITH(training::Train(plain, config, out, quiet, MpmGroundTruthRun()),
                    Catch::Contains("needs the ground truth's state"));
  CHECK_THROWS_WITH(training::Train(recorded, config, out, quiet), Catch::Contains("built without the ground truth"));
  const auto summary = training::Train(recorded, config, out, quiet, MpmGroundTruthRun());
  CHECK(summary.finished);
  const std::vector<double> losses = TrainLosses(out + "/log.csv");
  REQUIRE(losses.size() >= 2);
  CHECK(std::isfinite(losses.back()));
  // The same run without restart targets trains on other targets.
  config.training.pushforward_restart_targets = false;
  const std::string twin = flowdesign::testing::OutputDir("train_restart_twin");
  training::Train(recorded, config, twin, quiet);
  CHECK(TrainLosses(twin + "/log.csv") != losses);
}

TEST_CASE("a batch drawn first and built in parallel is the batch built one example at a time", "[learned][training]") {
  const ModelConfig config = testing::TinyConfig();
  const training::TrajectoryTensors t = EmitterTrajectory(/*frames=*/14, config);
  torch::manual_seed(3);
  LearnedSimulator simulator(config, testing::TypicalNormalization());
  // Noisy examples, some pushed forward through the model's own rollout.
  const std::vector<std::pair<int, int>> frame_and_pushforward = {{9, 0}, {10, 3}, {6, 6}, {12, 1}, {8, 2}};
  std::mt19937_64 one_by_one_rng(11), draw_rng(11);
  std::vector<training::Example> one_by_one;
  std::vector<training::ExampleDraw> draws;
  for (const auto& [frame, steps] : frame_and_pushforward) {
    one_by_one.push_back(training::MakeExample(simulator, t, frame, 3e-4, one_by_one_rng, torch::kCPU, steps));
    draws.push_back(training::DrawExample(t, frame, config.history, 3e-4, steps, draw_rng));
  }
  const int count = static_cast<int>(draws.size());
  for (int threads : {1, 3}) {
    INFO(threads << " threads");
    std::vector<training::Example> built(draws.size());
    training::ParallelFor(count, threads, [&](int b) { built[b] = training::MakeExample(simulator, draws[b], torch::kCPU); });
    for (int b = 0; b < count; ++b) {
      INFO("example " << b);
      CHECK(torch::equal(built[b].target, one_by_one[b].target));
      CHECK(torch::equal(built[b].graph.node_inputs, one_by_one[b].graph.node_inputs));
      CHECK(torch::equal(built[b].graph.edge_inputs, one_by_one[b].graph.edge_inputs));
      CHECK(torch::equal(built[b].graph.senders, one_by_one[b].graph.senders));
      CHECK(torch::equal(built[b].graph.receivers, one_by_one[b].graph.receivers));
    }
  }
  // The noise differs from draw to draw, and is zero without noise.
  CHECK_FALSE(torch::equal(draws[0].noise, draws[1].noise.narrow(1, 0, draws[0].noise.size(1))));
  CHECK(training::WindowNoise(config.history, 7, 0.0, draw_rng).abs().max().item<float>() == 0.0f);

  // Every index runs once, on as many threads as asked; an item's exception reaches the caller.
  std::vector<int> runs(37, 0);
  training::ParallelFor(37, 4, [&](int i) { ++runs[i]; });
  CHECK(std::all_of(runs.begin(), runs.end(), [](int r) { return r == 1; }));
  CHECK_THROWS_WITH(training::ParallelFor(9, 3, [](int i) { if (i == 5) throw std::runtime_error("item 5 failed"); }),
                    "item 5 failed");
}

TEST_CASE("an unrolled loss: one step is the one-step loss, more steps back-propagate through the rollout", "[learned][training]") {
  const ModelConfig config = testing::TinyConfig();
  REQUIRE(config.density_projection_iterations == 0);
  const training::TrajectoryTensors t = EmitterTrajectory(/*frames=*/12, config);
  torch::manual_seed(3);
  LearnedSimulator simulator(config, testing::TypicalNormalization());
  const int frame = 6;

  // One step, without solids to project out of: the one-step loss of the same (noisy) example.
  std::mt19937_64 rng_a(4), rng_b(4);
  training::UnrolledExample unrolled = training::MakeUnrolledExample(simulator, t, frame, 1, 3e-4, rng_a, torch::kCPU);
  const training::Example example = training::MakeExample(simulator, t, frame, 3e-4, rng_b, torch::kCPU);
  REQUIRE(unrolled.steps == 1);
  unrolled.capsules = torch::zeros({0, 5});
  const double one_step = (simulator.PredictNormalizedAcceleration(example.graph).narrow(0, 0, example.fluid) - example.target)
                              .pow(2).sum().item<double>();
  CHECK(training::UnrolledLoss(simulator, unrolled, false, 1.0).item<double>() == Approx(one_step).epsilon(1e-4));

  // Three steps: particles are born at later frames, so the unroll stops where the set changes.
  std::mt19937_64 rng(5);
  int births_after = frame;
  while (births_after + 1 < t.Frames() && t.AliveAt(births_after + 1) == t.AliveAt(frame)) ++births_after;
  const training::UnrolledExample three = training::MakeUnrolledExample(simulator, t, frame, 3, 0.0, rng, torch::kCPU);
  CHECK(three.steps == std::min(3, births_after - frame + 1));
  REQUIRE(three.steps >= 2);
  // The gradient reaches the first step through the later ones: it differs from the gradient of
  // the same per-step losses with each step's input cut off from the steps before.
  auto gradient = [&](bool through) {
    simulator.Network()->zero_grad();
    torch::Tensor window = three.window, total = torch::zeros({});
    const int c = config.history;
    const torch::Tensor std = torch::tensor({simulator.Norm().acceleration_std[0], simulator.Norm().acceleration_std[1]}).to(torch::kFloat32);
    if (through) {
      total = training::UnrolledLoss(simulator, three, false, 1.0);
    } else {
      for (int k = 0; k < three.steps; ++k) {
        const torch::Tensor next = simulator.Step(window, three.obstacles, three.capsules, three.domain);
        const torch::Tensor target = window[c] + (three.truth[k + 1] - three.truth[k]);
        total = total + ((next - target) / std).pow(2).sum();
        window = torch::cat({window.narrow(0, 1, c), next.detach().unsqueeze(0)}, 0);
      }
    }
    total.backward();
    std::vector<torch::Tensor> grads;
    for (const auto& p : simulator.Network()->parameters()) grads.push_back(p.grad().clone().flatten());
    return std::make_pair(total.item<double>(), torch::cat(grads));
  };
  const auto [loss_through, grad_through] = gradient(true);
  const auto [loss_cut, grad_cut] = gradient(false);
  CHECK(loss_through == Approx(loss_cut).epsilon(1e-5));  // same values, other gradients
  CHECK((grad_through - grad_cut).norm().item<double>() > 1e-3 * grad_through.norm().item<double>());
}

TEST_CASE("training with an unrolled loss lowers it and resumes exactly", "[learned][training]") {
  const std::string data = TinyData("unroll");
  const auto quiet = [](const std::string&) {};
  training::TrainConfig config = TinyTrainConfig(120);
  config.training.unroll_steps = 3;
  const std::string straight = flowdesign::testing::OutputDir("unroll_straight");
  const std::string resumed = flowdesign::testing::OutputDir("unroll_resumed");
  training::Train(data, config, straight, quiet);
  const std::vector<double> losses = TrainLosses(straight + "/log.csv");
  REQUIRE(losses.size() == 12);
  CHECK(losses[9] + losses[10] + losses[11] < 0.8 * (losses[0] + losses[1] + losses[2]));
  config.training.steps = 30;  // a log row's boundary: rows average the steps since the last one
  training::Train(data, config, resumed, quiet);
  config.training.steps = 120;
  training::Train(data, config, resumed, quiet);
  CHECK(TrainLosses(resumed + "/log.csv") == losses);
  CheckSameCheckpoints(straight, resumed);
  config.training.unroll_steps = 0;
  REQUIRE_THROWS_WITH(training::TrainingOptionsFromJson(training::TrainingOptionsToJson(config.training), "cfg.json"),
                      Catch::Contains("cfg.json: unroll_steps: must be >= 1"));
}

TEST_CASE("an unrolled-loss run on several threads is the same on any number of them and resumes exactly", "[learned][training]") {
  const std::string data = TinyData("unroll_threads");
  const auto quiet = [](const std::string&) {};
  training::TrainConfig config = TinyTrainConfig(40);
  config.training.unroll_steps = 3;
  config.training.batch_size = 3;
  config.training.pushforward_max_steps = 4;
  config.training.pushforward_fraction = 0.5;
  config.training.threads = 2;
  const std::string first = flowdesign::testing::OutputDir("unroll_threads_a");
  const std::string second = flowdesign::testing::OutputDir("unroll_threads_b");
  training::Train(data, config, first, quiet);
  // Examples side by side on 3 threads, stopped and resumed: the same run as on 2 threads.
  config.training.threads = 3;
  config.training.steps = 20;
  training::Train(data, config, second, quiet);
  config.training.steps = 40;
  training::Train(data, config, second, quiet);
  CHECK(TrainLosses(second + "/log.csv") == TrainLosses(first + "/log.csv"));
  CheckSameCheckpoints(first, second);
  // One thread back-propagates the batch at once: the same training up to rounding.
  const std::string serial = flowdesign::testing::OutputDir("unroll_threads_serial");
  config.training.threads = 1;
  training::Train(data, config, serial, quiet);
  CHECK(TrainLosses(serial + "/log.csv")[0] == Approx(TrainLosses(first + "/log.csv")[0]).epsilon(1e-4));
}

TEST_CASE("with an edge fade the network is continuous as a neighbour enters the radius", "[learned]") {
  // Two fluid particles at rest; the second approaches the first across the radius R. Without
  // a fade the first particle's prediction jumps when the edge appears; with it, it does not.
  auto prediction_jump = [](double fade) {
    torch::manual_seed(11);
    ModelConfig config = testing::TinyConfig();
    config.edge_fade_spacings = fade;
    LearnedSimulator simulator(config, testing::TypicalNormalization());
    const double radius = simulator.RadiusMetres();
    auto predict = [&](double distance) {
      torch::Tensor window = torch::zeros({config.history + 1, 2, 2});
      window.select(1, 0).fill_(0.5);
      window.select(1, 1).select(1, 0).fill_(0.5 + distance);
      window.select(1, 1).select(1, 1).fill_(0.5);
      const StepGraph graph = simulator.BuildGraph(window, 2, {{0.0, 0.0}, {1.0, 1.0}});
      return simulator.PredictNormalizedAcceleration(graph)[0];
    };
    torch::NoGradGuard no_grad;
    return (predict(radius * (1 - 1e-4)) - predict(radius * (1 + 1e-4))).abs().max().item<double>();
  };
  CHECK(prediction_jump(0.0) > 1e-2);
  CHECK(prediction_jump(0.5) < 1e-5);
  REQUIRE_THROWS_WITH(ModelConfigFromJson({{"edge_fade_spacings", 3.0}, {"connectivity_radius_spacings", 2.5}}, "m.json"),
                      Catch::Contains("edge_fade_spacings: must be in [0, connectivity_radius_spacings)"));
}

TEST_CASE("training can start from another model's weights", "[learned][training]") {
  const std::string data = TinyData("init_from");
  const auto quiet = [](const std::string&) {};
  const std::string source_dir = flowdesign::testing::OutputDir("init_from_source");
  training::Train(data, TinyTrainConfig(5), source_dir, quiet);

  training::TrainConfig config = TinyTrainConfig(1);
  config.model.edge_fade_spacings = 0.5;  // same shapes, another config: a fine-tune
  config.training.init_from = source_dir + "/checkpoint.fdm";
  config.training.learning_rate = config.training.final_learning_rate = 1e-12;  // the step changes nothing
  const std::string tuned_dir = flowdesign::testing::OutputDir("init_from_tuned");
  // Other data, with other statistics and other ground-truth physics: the fine-tune still starts
  // as the source simulator, and is a model of its own data's physics.
  const std::string other_data = TinyData("init_from_other", 6, {0.02, true});
  training::Train(other_data, config, tuned_dir, quiet);
  ModelFile source = ReadModelFile(source_dir + "/checkpoint.fdm");
  ModelFile tuned = ReadModelFile(tuned_dir + "/checkpoint.fdm");
  const Normalization other = training::LoadNormalization(other_data);
  REQUIRE(other.acceleration_std[0] != source.normalization.acceleration_std[0]);
  CHECK(tuned.normalization.acceleration_std[0] == source.normalization.acceleration_std[0]);
  CHECK(tuned.normalization.velocity_mean[1] == source.normalization.velocity_mean[1]);
  CHECK(source.config.physics.shear_viscosity_m2ps == 0.0);
  CHECK(!source.config.physics.soft_solid_boundary);
  CHECK(tuned.config.physics.shear_viscosity_m2ps == 0.02);
  CHECK(tuned.config.physics.soft_solid_boundary);
  for (const auto& [name, tensor] : tuned.tensors) {
    if (name.rfind("adam", 0) == 0) continue;  // optimizer moments start afresh
    INFO(name);
    CHECK(torch::allclose(tensor, source.tensors.at(name), 0.0, 1e-6));
  }

  config.model.latent_size = 8;
  REQUIRE_THROWS_WITH(training::Train(data, config, flowdesign::testing::OutputDir("init_from_bad"), quiet),
                      Catch::Contains("init_from: the model has no parameter"));
}

TEST_CASE("a fine-tune may add interaction blocks or a global latent: it starts as the source and then learns",
          "[learned][training]") {
  const std::string added_part = GENERATE("blocks", "global", "volume");
  INFO("adds " << added_part);
  const bool add_global = added_part == "global", add_volume = added_part == "volume";
  const std::string suffix = "_" + added_part;
  const std::string data = TinyData("grow" + suffix, 5, {}, /*record_mpm_state=*/add_volume);
  const auto quiet = [](const std::string&) {};
  const std::string source_dir = flowdesign::testing::OutputDir("grow_source" + suffix);
  training::Train(data, TinyTrainConfig(5), source_dir, quiet);

  training::TrainConfig config = TinyTrainConfig(1);
  if (add_global) config.model.global_latent = true;
  else if (add_volume) config.model.volume_state = true;
  else config.model.message_passing_steps += 2;
  config.training.init_from = source_dir + "/checkpoint.fdm";
  config.training.learning_rate = config.training.final_learning_rate = 1e-12;  // the step changes nothing
  const std::string grown_dir = flowdesign::testing::OutputDir("grow_grown" + suffix);
  training::Train(data, config, grown_dir, quiet);
  auto source = LoadModel(source_dir + "/checkpoint.fdm");
  auto grown = LoadModel(grown_dir + "/checkpoint.fdm");
  REQUIRE(grown->Config().global_latent == add_global);
  REQUIRE(grown->Config().volume_state == add_volume);
  REQUIRE(grown->Config().message_passing_steps == source->Config().message_passing_steps + (add_global || add_volume ? 0 : 2));
  REQUIRE(grown->Norm().has_volume == add_volume);  // J's statistics come from the data

  // The grown network predicts what the source predicts, on a real input (and no change of J).
  Scene scene = testing::SmallScene(/*frames=*/12);
  const training::TrajectoryTensors t =
      training::ToTensors(SimulateMpm(scene, {}, {}, nullptr, /*record_state=*/true), config.model.history);
  {
    std::mt19937_64 rng(1);
    torch::NoGradGuard no_grad;
    const training::Example example = training::MakeExample(*source, t, 8, 0.0, rng, torch::kCPU);
    const training::Example grown_example = training::MakeExample(*grown, t, 8, 0.0, rng, torch::kCPU);
    const torch::Tensor before = source->PredictNormalizedAcceleration(example.graph);
    const torch::Tensor after = grown->PredictNormalizedAcceleration(grown_example.graph);
    REQUIRE(before.abs().max().item<double>() > 1e-3);
    CHECK(torch::allclose(after.narrow(1, 0, 2), before, 1e-5, 1e-6));
    if (add_volume) {
      REQUIRE(after.size(1) == 3);
      CHECK(after.select(1, 2).abs().max().item<double>() < 1e-9);  // zero but for the 1e-12 step
      REQUIRE(grown_example.target.size(1) == 3);  // J's change is a target too
    }
  }

  // Training moves the new parameters away from where they started.
  config.training.learning_rate = config.training.final_learning_rate = 3e-3;
  config.training.steps = 10;
  const std::string trained_dir = flowdesign::testing::OutputDir("grow_trained" + suffix);
  training::Train(data, config, trained_dir, quiet);
  const ModelFile trained = ReadModelFile(trained_dir + "/checkpoint.fdm");
  if (add_volume) {
    // J's input column and output row.
    const torch::Tensor input = trained.tensors.at("node_encoder.linear0.weight");
    CHECK(input.select(1, input.size(1) - 1).abs().max().item<double>() > 1e-4);
    CHECK(trained.tensors.at("decoder.linear1.weight").select(0, 2).abs().max().item<double>() > 1e-4);
  } else {
    const std::string added = add_global ? "block0.global_projection.weight"
                                         : "block" + std::to_string(source->Config().message_passing_steps) +
                                               ".node_mlp.norm.weight";
    CHECK(trained.tensors.at(added).abs().max().item<double>() > 1e-4);
  }

  // Dropping what the source has is an error.
  if (add_volume) {
    config.model.volume_state = false;
    config.training.init_from = trained_dir + "/checkpoint.fdm";
    REQUIRE_THROWS_WITH(training::Train(data, config, flowdesign::testing::OutputDir("grow_drop" + suffix), quiet),
                        Catch::Contains("init_from has a volume state and the config not"));
    // And a volume state needs data with J.
    config.model.volume_state = true;
    config.training.init_from.clear();
    REQUIRE_THROWS_WITH(training::Train(TinyData("grow_volume_plain"), config,
                                        flowdesign::testing::OutputDir("grow_plain" + suffix), quiet),
                        Catch::Contains("record_mpm_state"));
  } else if (add_global) {
    config.model.global_latent = false;
    config.training.init_from = trained_dir + "/checkpoint.fdm";
    REQUIRE_THROWS_WITH(training::Train(data, config, flowdesign::testing::OutputDir("grow_drop" + suffix), quiet),
                        Catch::Contains("init_from has a global latent and the config not"));
  } else {
    config.model.message_passing_steps = 1;
    REQUIRE_THROWS_WITH(training::Train(data, config, flowdesign::testing::OutputDir("grow_drop" + suffix), quiet),
                        Catch::Contains("init_from has 2 interaction blocks, the config 1"));
  }
}

TEST_CASE("a global latent carries news across a graph, never between graphs side by side", "[learned]") {
  // Two clusters of 4 nodes, each fully connected within itself: no path between them.
  std::vector<int64_t> senders, receivers;
  for (int64_t cluster : {0, 4}) {
    for (int64_t i = 0; i < 4; ++i) {
      for (int64_t j = 0; j < 4; ++j) {
        if (i == j) continue;
        senders.push_back(cluster + i);
        receivers.push_back(cluster + j);
      }
    }
  }
  const int64_t e = static_cast<int64_t>(senders.size());
  const torch::Tensor s = torch::tensor(senders), r = torch::tensor(receivers);
  ModelConfig config = testing::TinyConfig();
  torch::manual_seed(3);
  const torch::Tensor nodes = torch::randn({8, NodeInputSize(config)});
  const torch::Tensor edges = torch::randn({e, kEdgeInputSize});
  torch::Tensor moved = nodes.clone();
  moved[5] += 1.0;  // a node of the second cluster
  const GraphPooling one_graph = GraphPooling::Single(8, 8, nodes.options());
  const GraphPooling two_graphs = GraphPooling::Concatenate(
      {GraphPooling::Single(4, 4, nodes.options()), GraphPooling::Single(4, 4, nodes.options())});
  torch::NoGradGuard no_grad;
  auto first_cluster_change = [&](GraphNetwork& network, const GraphPooling& pooling) {
    const torch::Tensor before = network->forward(nodes, edges, s, r, {}, pooling).narrow(0, 0, 4);
    const torch::Tensor after = network->forward(moved, edges, s, r, {}, pooling).narrow(0, 0, 4);
    return (after - before).abs().max().item<double>();
  };

  GraphNetwork local(config);
  CHECK(first_cluster_change(local, {}) == 0.0);
  config.global_latent = true;
  GraphNetwork global(config);
  CHECK(first_cluster_change(global, one_graph) > 1e-4);
  CHECK(first_cluster_change(global, two_graphs) == 0.0);
  // Side by side, each graph's prediction is the one it gets alone.
  const torch::Tensor side_by_side = global->forward(nodes, edges, s, r, {}, two_graphs);
  for (int64_t cluster : {0, 4}) {
    const torch::Tensor alone =
        global->forward(nodes.narrow(0, cluster, 4), edges.narrow(0, 3 * cluster, 12),
                        s.narrow(0, 3 * cluster, 12) - cluster, r.narrow(0, 3 * cluster, 12) - cluster, {},
                        GraphPooling::Single(4, 4, nodes.options()));
    CHECK(torch::allclose(side_by_side.narrow(0, cluster, 4), alone, 1e-5, 1e-6));
  }
  REQUIRE_THROWS_WITH(global->forward(nodes, edges, s, r), Catch::Contains("needs the graph's pooling"));
}

TEST_CASE("a weight average is what validation saves, and it resumes exactly", "[learned][training]") {
  const std::string data = TinyData("ema");
  const auto quiet = [](const std::string&) {};
  const std::string source_dir = flowdesign::testing::OutputDir("ema_source");
  training::Train(data, TinyTrainConfig(5), source_dir, quiet);
  const ModelFile source = ReadModelFile(source_dir + "/checkpoint.fdm");

  // One step from the source weights: the average is 0.9 x before + 0.1 x after, and model.fdm
  // (validated at that step) holds the average, not the trained weights.
  training::TrainConfig config = TinyTrainConfig(1);
  config.training.init_from = source_dir + "/checkpoint.fdm";
  config.training.ema_decay = 0.9;
  config.training.validate_every = 1;
  const std::string one_dir = flowdesign::testing::OutputDir("ema_one_step");
  training::Train(data, config, one_dir, quiet);
  const ModelFile checkpoint = ReadModelFile(one_dir + "/checkpoint.fdm");
  const ModelFile model = ReadModelFile(one_dir + "/model.fdm");
  int averaged = 0;
  for (const auto& [name, trained] : checkpoint.tensors) {
    if (name.rfind("adam", 0) == 0 || name.rfind("ema", 0) == 0) continue;
    INFO(name);
    const torch::Tensor& average = checkpoint.tensors.at("ema." + name);
    CHECK(torch::allclose(average, 0.9 * source.tensors.at(name) + 0.1 * trained, 1e-5, 1e-7));
    CHECK(torch::equal(model.tensors.at(name), average));
    if (!torch::equal(average, trained)) ++averaged;
  }
  CHECK(averaged > 0);

  // Stopped after 10 steps and resumed to 20: bit-identical to 20 steps in one go.
  config = TinyTrainConfig(20);
  config.training.ema_decay = 0.95;
  const std::string straight = flowdesign::testing::OutputDir("ema_straight");
  const std::string resumed = flowdesign::testing::OutputDir("ema_resumed");
  training::Train(data, config, straight, quiet);
  config.training.steps = 10;
  training::Train(data, config, resumed, quiet);
  config.training.steps = 20;
  training::Train(data, config, resumed, quiet);
  CheckSameCheckpoints(straight, resumed);

  config.training.ema_decay = 1.0;
  REQUIRE_THROWS_WITH(training::TrainingOptionsFromJson(training::TrainingOptionsToJson(config.training), "cfg.json"),
                      Catch::Contains("cfg.json: ema_decay: must be in [0, 1)"));
}

TEST_CASE("averaging models: the mean of their weights, only across the same config and normalization", "[learned][training]") {
  const std::string data = TinyData("average");
  const auto quiet = [](const std::string&) {};
  std::vector<std::string> paths;
  for (uint64_t seed : {1, 2, 3}) {
    training::TrainConfig config = TinyTrainConfig(6);
    config.training.seed = seed;
    const std::string dir = flowdesign::testing::OutputDir("average_" + std::to_string(seed));
    training::Train(data, config, dir, quiet);
    paths.push_back(dir + "/checkpoint.fdm");
  }
  const ModelFile average = AverageModels(paths);
  const std::string average_path = flowdesign::testing::OutputDir("average_out") + "/average.fdm";
  WriteModelFile(average_path, average);
  REQUIRE_NOTHROW(LoadModel(average_path));
  const ModelFile a = ReadModelFile(paths[0]), b = ReadModelFile(paths[1]), c = ReadModelFile(paths[2]);
  int parameters = 0;
  for (const auto& [name, tensor] : a.tensors) {
    if (name.rfind("adam.", 0) == 0) {
      CHECK(average.tensors.count(name) == 0);  // optimizer state is not averaged
      continue;
    }
    INFO(name);
    ++parameters;
    CHECK(torch::allclose(average.tensors.at(name), (tensor + b.tensors.at(name) + c.tensors.at(name)) / 3.0, 1e-6, 1e-7));
  }
  CHECK(parameters == static_cast<int>(average.tensors.size()));
  CHECK(average.metadata.at("averaged_from").size() == 3);

  // Another network size, or a model trained on data with other statistics, is refused.
  training::TrainConfig wider = TinyTrainConfig(2);
  wider.model.latent_size += 4;
  const std::string wider_dir = flowdesign::testing::OutputDir("average_wider");
  training::Train(data, wider, wider_dir, quiet);
  REQUIRE_THROWS_WITH(AverageModels({paths[0], wider_dir + "/checkpoint.fdm"}),
                      Catch::Contains("average_wider/checkpoint.fdm: its model config differs"));
  const std::string other_dir = flowdesign::testing::OutputDir("average_other");
  training::Train(TinyData("average_other", 6), TinyTrainConfig(2), other_dir, quiet);
  REQUIRE_THROWS_WITH(AverageModels({paths[0], other_dir + "/checkpoint.fdm"}),
                      Catch::Contains("its normalization differs"));
}

TEST_CASE("a resumed run may change the density projection, not the network", "[learned][training]") {
  const std::string data = TinyData("resume_projection");
  const std::string dir = flowdesign::testing::OutputDir("resume_projection");
  const auto quiet = [](const std::string&) {};
  training::Train(data, TinyTrainConfig(5), dir, quiet);  // stopped before any validation

  training::TrainConfig config = TinyTrainConfig(25);
  config.model.density_projection_iterations = 1;
  std::vector<std::string> messages;
  const auto summary = training::Train(data, config, dir, [&](const std::string& m) { messages.push_back(m); });
  CHECK(summary.steps == 25);
  CHECK(std::isfinite(summary.best_validation_error_spacings));
  CHECK(std::any_of(messages.begin(), messages.end(),
                    [](const std::string& m) { return m.find("density projection changed") != std::string::npos; }));
  CHECK(ReadModelFile(dir + "/model.fdm").config.density_projection_iterations == 1);

  config.training.steps = 30;
  config.model.message_passing_steps += 1;
  REQUIRE_THROWS_WITH(training::Train(data, config, dir, quiet), Catch::Contains("different model config"));
}

TEST_CASE("the scenes fingerprint: the same scenes under another ground truth match, other scenes do not", "[learned][data]") {
  const auto fingerprint = [](const std::string& dir) {
    return training::ScenesFingerprint(training::LoadSplit(dir, "test", 3).trajectories);
  };
  const std::string water = fingerprint(TinyData("fingerprint"));
  CHECK(fingerprint(TinyData("fingerprint_viscous", 5, {0.05, false})) == water);
  CHECK(fingerprint(TinyData("fingerprint_soft", 5, {0.0, true})) == water);
  CHECK(fingerprint(TinyData("fingerprint_other", 6)) != water);
  CHECK(water.size() > 8);
}

TEST_CASE("a model config with an unknown field or a bad value is rejected", "[learned]") {
  REQUIRE_THROWS_WITH(ModelConfigFromJson({{"latent_sise", 8}}, "m.json"), "m.json: latent_sise: unknown field");
  REQUIRE_THROWS_WITH(ModelConfigFromJson({{"history", 0}}, "m.json"),
                      "m.json: model config: history: must be in [1, 16] (got 0)");
  REQUIRE_THROWS_WITH(ModelConfigFromJson({{"latent_size", 1.5}}, "m.json"), Catch::Contains("latent_size: wrong type"));
  REQUIRE_THROWS_WITH(ModelConfigFromJson({{"shear_viscosity_m2ps", -0.5}}, "m.json"),
                      Catch::Contains("m.json: model config: shear_viscosity_m2ps: must be finite and >= 0 (got -0.5"));
  REQUIRE_THROWS_WITH(training::TrainingOptionsFromJson({{"pushforward_fraction", 1.5}}, "m.json: training"),
                      "m.json: training: pushforward_fraction: must be in [0, 1] (got 1.5)");
  REQUIRE_THROWS_WITH(training::TrainingOptionsFromJson({{"pushforward_max_steps", -1}}, "m.json: training"),
                      "m.json: training: pushforward_max_steps: must be >= 0 (got -1)");
  REQUIRE_THROWS_WITH(training::TrainingOptionsFromJson({{"pushforward_restart_targets", true}}, "m.json: training"),
                      "m.json: training: pushforward_restart_targets: needs pushforward (pushforward_max_steps > 0) (got true)");
}

}  // namespace
}  // namespace flowdesign::simulator::learned
