// The design engine end to end on a small task with a "ballistic" learned simulator:
// parameterization, gradients through the rollout, every optimizer, parallel and resumed
// searches, and the command line (design, simulate, evaluate-model) and its handling of bad values.
#include "tests/torch_catch.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "design/design_problem.h"
#include "design/ground_truth_problem.h"
#include "design/parameterization.h"
#include "design/search.h"
#include "simulator/scene.h"
#include "simulator/trajectory.h"
#include "simulator/learned/model_file.h"
#include "tasks/file_util.h"
#include "tasks/tool_geometry.h"
#include "tests/design/design_test_support.h"
#include "tests/test_support.h"

namespace flowdesign::design {
namespace {

TEST_CASE("the LibTorch parameterization matches the double-precision tool geometry", "[design]") {
  tasks::Task task = testing::SmallContainTask();
  tasks::Tool ramp;
  ramp.name = "ramp";
  ramp.kind = tasks::ToolKind::kRamp;
  ramp.thickness_m = 0.02;
  ramp.ramp.length_m = 0.2;
  ramp.ramp.center_bounds = {{0.1, 0.1}, {0.5, 0.5}};
  ramp.ramp.angle_min_deg = -45;
  ramp.ramp.angle_max_deg = 45;
  task.tools.push_back(ramp);
  task.walls.push_back({{{0.0, 0.1}, {0.1, 0.1}, {0.1, 0.2}}, 0.02});
  const std::vector<double> x{-30, 45, 10, 60, 0.3, 0.2, -20};
  const Parameterization parameterization(task);
  const torch::Tensor capsules = parameterization.Capsules(torch::tensor(x, torch::kFloat64));
  const std::vector<tasks::Capsule> expected = tasks::SolidCapsules(task, x);
  REQUIRE(capsules.size(0) == static_cast<int64_t>(expected.size()));
  for (size_t k = 0; k < expected.size(); ++k) {
    const tasks::Capsule& c = expected[k];
    const double values[] = {c.a.x, c.a.y, c.b.x, c.b.y, c.radius};
    for (int j = 0; j < 5; ++j) CHECK(capsules[k][j].item<double>() == Approx(values[j]).margin(1e-12));
  }
}

TEST_CASE("the objective's gradient through a learned rollout agrees with finite differences", "[design][gradient]") {
  // The same chain as DesignProblem (parameters -> capsules -> obstacle particles -> rollout ->
  // smooth objective), in double precision so that central differences are exact enough.
  const tasks::Task task = testing::SmallContainTask();
  // Seeded before the network is built: its initial weights (not only the decoder's, drawn
  // below) decide how chaotic the rollout is, and an unseeded one made the test flaky.
  torch::manual_seed(5);
  auto simulator = testing::BallisticSimulator();
  {
    torch::NoGradGuard no_grad;  // a non-trivial network, not only the ballistic part
    for (const auto& item : simulator->Network()->named_parameters()) {
      if (item.key().rfind("decoder.", 0) == 0) item.value().normal_(0.0, 0.05);
    }
  }
  simulator->To(torch::kFloat64);
  const Parameterization parameterization(task);
  const objectives::Objective objective(task);
  tasks::Task fluid_only = task;
  fluid_only.tools.clear();
  simulator::learned::RolloutSetup setup =
      simulator::learned::MakeRolloutSetup(simulator::BuildScene(fluid_only, {}), simulator->Config().history);
  setup.initial_states = setup.initial_states.to(torch::kFloat64);
  const auto counts = simulator::learned::ObstacleParticleCounts(tasks::SolidCapsules(task, parameterization.Initial()), 0.01);
  auto value = [&](const torch::Tensor& parameters) {
    const torch::Tensor capsules = parameterization.Capsules(parameters);
    const torch::Tensor positions = simulator::learned::Rollout(
        *simulator, setup, simulator::learned::SampleObstacleParticles(capsules, counts), capsules);
    return objective.Smooth(positions, setup.birth_frame, parameters);
  };
  const std::vector<double> x{-40.0, 30.0, 25.0, 35.0};
  torch::Tensor leaf = torch::tensor(x, torch::kFloat64).requires_grad_(true);
  value(leaf).backward();
  const torch::Tensor analytic = leaf.grad();
  REQUIRE(analytic.abs().max().item<double>() > 0.0);
  torch::NoGradGuard no_grad;
  for (int64_t i = 0; i < leaf.size(0); ++i) {
    const double h = 1e-5;  // degrees
    torch::Tensor plus = torch::tensor(x, torch::kFloat64), minus = plus.clone();
    plus[i] += h;
    minus[i] -= h;
    const double numeric = (value(plus).item<double>() - value(minus).item<double>()) / (2 * h);
    const double a = analytic[i].item<double>();
    INFO("parameter " << i << ": analytic " << a << ", numeric " << numeric);
    CHECK(std::abs(a - numeric) <= 1e-3 * std::max(std::abs(numeric), 1e-3));
  }
}

TEST_CASE("every optimizer improves the small Contain task from its start", "[design][optimizer]") {
  const tasks::Task task = testing::SmallContainTask();
  auto simulator = testing::BallisticSimulator();
  const DesignProblem problem(task, *simulator);
  const std::vector<double> x0 = problem.Params().Initial();
  for (const char* name : {"adam", "lbfgs", "cem", "random"}) {
    OptimizerOptions options = OptionsFromSettings(task.optimizer, 3);
    options.kind = ParseOptimizerKind(name);
    options.learning_rate = 0.3;
    const OptimizerSummary summary = Optimize(problem, x0, options);
    INFO(name << ": " << summary.BriefReport());
    CHECK(summary.best_value < summary.initial_value - 0.05);
  }
}

TEST_CASE("gradient searches start from the best of several perturbations", "[design][search]") {
  auto simulator = testing::BallisticSimulator();
  const tasks::Task task = testing::SmallContainTask();
  const DesignProblem problem(task, *simulator);
  // Start 0 is the task's own design; sampling optimizers take the first draw unscreened.
  CHECK(SearchStartingPoint(problem, OptimizerKind::kAdam, 5, 0, 0.3) == problem.Params().Initial());
  CHECK(SearchStartingPoint(problem, OptimizerKind::kCem, 9, 1, 0.3) == StartingPoint(problem, 9, 1, 0.3));
  for (int start = 1; start <= 2; ++start) {
    const std::vector<double> x = SearchStartingPoint(problem, OptimizerKind::kAdam, 9, start, 0.3);
    CHECK(x == SearchStartingPoint(problem, OptimizerKind::kLbfgs, 9, start, 0.3));  // reproducible, any gradient method
    const double value = problem.Value(x);
    bool drawn = false;
    std::vector<double> values;
    for (int draw = 0; draw < kStartDraws; ++draw) {
      const std::vector<double> candidate = StartingPoint(problem, 9, start, 0.3, draw);
      drawn = drawn || candidate == x;
      values.push_back(problem.Value(candidate));
    }
    INFO("start " << start << ": chosen value " << value);
    CHECK(drawn);
    CHECK(value == *std::min_element(values.begin(), values.end()));
    CHECK(values.front() != values.back());  // the draws really differ
  }
}

TEST_CASE("CEM can search in the ground-truth simulator, deterministically for any thread count", "[design][ground_truth]") {
  const tasks::Task task = testing::SmallContainTask();
  const GroundTruthProblem problem(task);
  REQUIRE_FALSE(problem.HasGradient());
  OptimizerOptions options = OptionsFromSettings(task.optimizer, 4);
  options.kind = OptimizerKind::kCem;
  options.iterations = 3;
  options.population = 4;
  options.threads = 1;
  const OptimizerSummary one = Optimize(problem, problem.Params().Initial(), options);
  options.threads = 2;
  const OptimizerSummary two = Optimize(problem, problem.Params().Initial(), options);
  CHECK(one.best_x == two.best_x);
  CHECK(one.best_value <= one.initial_value);
  CHECK(std::isfinite(one.best_value));
  REQUIRE_THROWS_AS(problem.ValueAndGradient(problem.Params().Initial(), nullptr), std::logic_error);
}

TEST_CASE("the ground truth simulates the physics of the model: its shear viscosity and solid boundary", "[design][ground_truth]") {
  const tasks::Task task = testing::SmallContainTask();
  simulator::learned::ModelConfig model;
  model.physics = {0.05, true};
  const simulator::MpmOptions fluid = GroundTruthFor(model);
  CHECK(fluid.physics.shear_viscosity_m2ps == 0.05);
  CHECK(fluid.physics.soft_solid_boundary);
  const std::vector<double> x = Parameterization(task).Initial();
  const double water = GroundTruthProblem(task).Value(x), viscous = GroundTruthProblem(task, fluid).Value(x);
  INFO("objective: inviscid " << water << ", viscous " << viscous);
  CHECK(viscous != water);
  const simulator::Trajectory a = GroundTruthTrajectory(task, x), b = GroundTruthTrajectory(task, x, fluid);
  REQUIRE(a.particle_count == b.particle_count);
  double largest_difference = 0.0;
  for (int p = 0; p < a.particle_count; ++p) {
    largest_difference = std::max(largest_difference, Norm(a.Position(a.frame_count - 1, p) - b.Position(b.frame_count - 1, p)));
  }
  CHECK(largest_difference > 1e-3);
}

SearchOptions SmallSearch(const tasks::Task& task, const char* optimizer, int threads) {
  SearchOptions options;
  options.optimizer = OptionsFromSettings(task.optimizer, 0);
  options.optimizer.kind = ParseOptimizerKind(optimizer);
  options.starts = 2;
  options.threads = threads;
  options.seed = 11;
  options.pictures = false;
  return options;
}

std::string HistoryWithoutTime(const std::string& path) {
  // Drops the seconds column (the 6th), which differs between runs.
  std::ifstream in(path);
  std::string line, out;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i != 5) out += cells[i] + ",";
    }
    out += "\n";
  }
  return out;
}

TEST_CASE("parallel CEM searches give the same designs for 1 and 2 threads, with a ground-truth check", "[design][search]") {
  const tasks::Task task = testing::SmallContainTask();
  auto simulator = testing::BallisticSimulator();
  const DesignProblem problem(task, *simulator);
  auto quiet = [](const std::string&) {};
  const std::string one = flowdesign::testing::OutputDir("search_cem_1"), two = flowdesign::testing::OutputDir("search_cem_2");
  const SearchSummary a = RunSearch(task, problem, SmallSearch(task, "cem", 1), one, false, quiet);
  const SearchSummary b = RunSearch(task, problem, SmallSearch(task, "cem", 2), two, false, quiet);
  REQUIRE(a.starts.size() == 2);
  for (int k = 0; k < 2; ++k) {
    CHECK(a.starts[k].summary.best_x == b.starts[k].summary.best_x);
    CHECK(a.starts[k].learned_exact == b.starts[k].learned_exact);
    CHECK(std::isfinite(a.starts[k].ground_truth_exact));
  }
  CHECK(a.starts[0].x0 != a.starts[1].x0);  // each search starts from its own point
  CHECK(std::filesystem::exists(one + "/best_design.json"));
  CHECK(std::filesystem::exists(one + "/summary.json"));
  CHECK(HistoryWithoutTime(one + "/search_001/history.csv") == HistoryWithoutTime(two + "/search_001/history.csv"));
  SECTION("a second run into the same folder needs --resume") {
    REQUIRE_THROWS_WITH(RunSearch(task, problem, SmallSearch(task, "cem", 1), one, false, quiet),
                        Catch::Contains("already holds a run; add --resume"));
  }
}

TEST_CASE("a search stopped part-way and resumed follows the same trajectory", "[design][search][resume]") {
  const tasks::Task task = testing::SmallContainTask();
  auto simulator = testing::BallisticSimulator();
  const DesignProblem problem(task, *simulator);
  auto quiet = [](const std::string&) {};
  for (const char* optimizer : {"adam", "cem"}) {
    const std::string straight = flowdesign::testing::OutputDir(std::string("resume_straight_") + optimizer);
    const std::string resumed = flowdesign::testing::OutputDir(std::string("resume_resumed_") + optimizer);
    SearchOptions options = SmallSearch(task, optimizer, 1);
    options.ground_truth_check = false;
    const SearchSummary full = RunSearch(task, problem, options, straight, false, quiet);
    SearchOptions first_part = options;
    first_part.stop_after_iterations = 2;  // as if killed after iteration 2
    // Kept activations are an execution setting: resuming with another budget is allowed, and
    // back-propagating with every step recomputed gives the same gradients.
    first_part.kept_activation_mb = 0;
    CHECK_FALSE(RunSearch(task, problem, first_part, resumed, false, quiet).completed);
    const SearchSummary rest = RunSearch(task, problem, options, resumed, true, quiet);
    CHECK(rest.completed);
    for (int k = 0; k < 2; ++k) {
      INFO(optimizer << " search " << k);
      CHECK(rest.starts[k].summary.best_x == full.starts[k].summary.best_x);
      const std::string file = "/search_00" + std::to_string(k) + "/history.csv";
      CHECK(HistoryWithoutTime(resumed + file) == HistoryWithoutTime(straight + file));
    }
  }
}

// Runs the flowdesign command line; returns the exit code and puts stderr+stdout in *output.
int RunCli(const std::string& arguments, std::string* output) {
  const std::string command = std::string(FLOWDESIGN_CLI_PATH) + " " + arguments + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  char buffer[512];
  output->clear();
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) *output += buffer;
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_CASE("the command line warns when LibTorch's products would not run on OpenBLAS", "[blas][cli]") {
  std::string output;
  REQUIRE(RunCli("--help", &output) == 0);
  CHECK(output.find("not OpenBLAS") == std::string::npos);
  // Debian's Ceres brings ATLAS's BLAS; loaded first, its sgemm_ would serve LibTorch.
  const std::string atlas = "/lib/x86_64-linux-gnu/libf77blas.so.3";
  if (!std::filesystem::exists(atlas)) {
    WARN("no " << atlas << " on this machine: the warning is not exercised");
    return;
  }
  setenv("LD_PRELOAD", atlas.c_str(), 1);
  const int code = RunCli("--help", &output);
  unsetenv("LD_PRELOAD");
  CHECK(code == 0);
  CHECK_THAT(output, Catch::Contains("warning: LibTorch's matrix products run on " + atlas + ", not OpenBLAS"));
}

TEST_CASE("bad design command lines give clear errors and exit code 2", "[design][cli]") {
  std::string output;
  const std::string task = flowdesign::testing::SourcePath("tasks/contain.json");
  const std::string model = flowdesign::testing::OutputDir("cli_model") + "/model.fdm";
  {
    auto simulator = testing::BallisticSimulator();
    // A model for the Contain task's setup, so only the bad flag is wrong below.
    simulator::learned::SaveModel(model, *simulator, {});
  }
  CHECK(RunCli("design " + task + " --model " + model + " --optimizer sgd --out /tmp/unused", &output) == 2);
  CHECK_THAT(output, Catch::Contains("unknown optimizer 'sgd' (expected adam, lbfgs, cem or random)"));
  CHECK(RunCli("design " + task + " --starts 0", &output) == 2);
  CHECK_THAT(output, Catch::Contains("--starts"));
  CHECK(RunCli("design " + task + " --gradient-memory -5", &output) == 2);
  CHECK_THAT(output, Catch::Contains("--gradient-memory"));
  CHECK(RunCli("design " + task + " --model /nonexistent/model.fdm", &output) == 2);
  CHECK_THAT(output, Catch::Contains("/nonexistent/model.fdm: no such model file"));
  CHECK(RunCli("design /nonexistent/task.json", &output) == 2);
  CHECK(RunCli("design --help", &output) == 0);
  CHECK_THAT(output, Catch::Contains("--resume"));
}

TEST_CASE("evaluate-model reports errors at the horizons asked for, and rejects unordered ones", "[design][cli]") {
  const std::string dir = flowdesign::testing::OutputDir("cli_evaluate");
  const std::string model = dir + "/model.fdm";
  simulator::learned::SaveModel(model, *testing::BallisticSimulator(), {});
  const nlohmann::json recipe{{"seed", 5},
                              {"frames", 12},
                              {"trajectories", {{"train", 1}, {"valid", 1}, {"test", 2}}},
                              {"block_size", {0.04, 0.06}}};
  tasks::WriteFileAtomically(dir + "/recipe.json", recipe.dump());
  std::string output;
  REQUIRE(RunCli("generate --recipe " + dir + "/recipe.json --out " + dir + "/data", &output) == 0);
  REQUIRE(RunCli("evaluate-model --model " + model + " --data " + dir + "/data --horizons 3,6 --threads 1 --out " + dir +
                     "/evaluation",
                 &output) == 0);
  const auto evaluation = nlohmann::json::parse(tasks::ReadFile(dir + "/evaluation/evaluation.json"));
  REQUIRE(evaluation["horizons"].size() == 3);
  CHECK(evaluation["horizons"][0]["steps"] == 3);
  CHECK(evaluation["horizons"][1]["steps"] == 6);
  CHECK(evaluation["horizons"][2]["steps"] == "end");
  CHECK(RunCli("evaluate-model --model " + model + " --data " + dir + "/data --horizons 6,3", &output) == 2);
  CHECK_THAT(output, Catch::Contains("--horizons: steps must be increasing"));
  CHECK(RunCli("evaluate-model --model " + model + " --data " + dir + "/data --horizons 0", &output) == 2);
  CHECK_THAT(output, Catch::Contains("--horizons"));
}

TEST_CASE("simulate runs the learned model as well as MPM, and rejects an unknown simulator", "[design][cli]") {
  std::string output;
  const std::string task = flowdesign::testing::SourcePath("tasks/contain.json");
  const std::string dir = flowdesign::testing::OutputDir("cli_simulate_learned");
  const std::string model = dir + "/model.fdm";
  {
    auto simulator = testing::BallisticSimulator();
    simulator::learned::SaveModel(model, *simulator, {});
  }
  REQUIRE(RunCli("simulate " + task + " --simulator learned --model " + model + " --out " + dir + "/run", &output) == 0);
  const simulator::Trajectory t = simulator::LoadTrajectory(dir + "/run");
  CHECK(t.simulator == "learned");
  CHECK(t.frame_count == 101);
  // The ballistic model lets the block fall onto the flat chain at y = 0.45 and stay above it.
  CHECK(t.Position(100, 0).y < t.Position(0, 0).y - 0.03);
  CHECK(t.Position(100, 0).y > 0.45);
  CHECK(RunCli("simulate " + task + " --simulator sph --out " + dir + "/bad", &output) == 2);
  CHECK_THAT(output, Catch::Contains("--simulator sph: unknown simulator (expected mpm or learned)"));
  CHECK(RunCli("simulate " + task + " --simulator learned --model /nonexistent.fdm --out " + dir + "/bad", &output) == 2);
  CHECK_THAT(output, Catch::Contains("/nonexistent.fdm: no such model file"));
  CHECK_FALSE(std::filesystem::exists(dir + "/bad"));
  CHECK(RunCli("simulate " + task + " --shear-viscosity -0.1 --out " + dir + "/bad_viscosity", &output) == 2);
  CHECK_THAT(output, Catch::Contains("--shear-viscosity must be finite and >= 0 m^2/s"));
  CHECK_FALSE(std::filesystem::exists(dir + "/bad_viscosity"));
  CHECK(RunCli("simulate " + task + " --simulator learned --model " + model + " --soft-solid-boundary --out " + dir +
                   "/bad_physics",
               &output) == 2);
  CHECK_THAT(output, Catch::Contains("a learned model simulates the physics it was trained on"));
  CHECK_FALSE(std::filesystem::exists(dir + "/bad_physics"));
}

}  // namespace
}  // namespace flowdesign::design
