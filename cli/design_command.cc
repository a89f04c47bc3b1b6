// `flowdesign design`: optimizes a task's tools through the learned simulator, checks the result
// in the ground truth and writes a run folder (see design/search.h).
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/default_model.h"
#include "design/design_problem.h"
#include "design/ground_truth_problem.h"
#include "design/search.h"
#include "simulator/learned/model_file.h"
#include "tasks/task_io.h"

namespace flowdesign::cli {
namespace {

namespace fs = std::filesystem;

struct DesignArgs {
  std::string task_path;
  std::string optimizer;
  int starts = 0;  // 0: the task's setting
  int threads = 0;
  int64_t gradient_memory_mb = design::SearchOptions{}.kept_activation_mb;
  int iterations = 0;
  double learning_rate = 0.0;
  double max_step = -1.0;  // < 0: the task's
  double max_step_adapt = 0.0;  // 0: the task's
  int population = 0;
  std::uint64_t seed = 0;
  bool seed_given = false;
  std::string model;
  std::string out;
  bool resume = false;
  bool no_ground_truth = false;
  bool no_pictures = false;
  int stop_after = 0;
  std::string simulator = "learned";
};

// runs/NAME, or runs/NAME-2, -3, ... so that running the same command again never clobbers an
// earlier run; with --resume, the newest of them.
std::string DefaultRunFolder(const std::string& task_name, bool resume) {
  const std::string base = "runs/" + task_name;
  auto used = [](const std::string& dir) { return fs::exists(dir + "/settings.json"); };
  if (!used(base)) return base;
  std::string newest = base;
  for (int k = 2;; ++k) {
    const std::string candidate = base + "-" + std::to_string(k);
    if (!used(candidate)) return resume ? newest : candidate;
    newest = candidate;
  }
}

int RunDesign(const DesignArgs& args) {
  const tasks::Task task = tasks::LoadTask(args.task_path);
  const std::string model_path = ModelPathOrDefault(args.model);
  simulator::learned::ModelFile model_file;
  auto simulator = simulator::learned::LoadModel(model_path, &model_file);
  design::CheckModelMatchesTask(simulator->Config(), task, model_path);

  design::SearchOptions options;
  options.optimizer = design::OptionsFromSettings(task.optimizer, task.seed);
  if (!args.optimizer.empty()) options.optimizer.kind = design::ParseOptimizerKind(args.optimizer);
  if (args.iterations > 0) options.optimizer.iterations = args.iterations;
  if (args.learning_rate > 0) options.optimizer.learning_rate = args.learning_rate;
  if (args.max_step >= 0) options.optimizer.max_step_m = args.max_step;
  if (args.max_step_adapt > 0) options.optimizer.max_step_adapt = args.max_step_adapt;
  if (args.population > 0) options.optimizer.population = args.population;
  options.starts = args.starts > 0 ? args.starts : task.optimizer.starts;
  options.threads = args.threads;
  options.kept_activation_mb = args.gradient_memory_mb;
  options.seed = args.seed_given ? args.seed : task.seed;
  options.ground_truth_check = !args.no_ground_truth;
  options.pictures = !args.no_pictures && options.ground_truth_check;
  options.stop_after_iterations = args.stop_after;
  options.model_identity = model_path + " (checksum " + model_file.checksum + ")";
  options.ground_truth = design::GroundTruthFor(simulator->Config());
  design::CheckValid(options.optimizer);
  const std::string out = args.out.empty() ? DefaultRunFolder(task.name, args.resume) : args.out;

  const design::DesignProblem problem(task, *simulator);
  options.search_simulator = args.simulator;
  std::unique_ptr<design::GroundTruthProblem> ground_truth;
  if (args.simulator == "ground-truth") {
    if (options.optimizer.kind == tasks::OptimizerKind::kAdam || options.optimizer.kind == tasks::OptimizerKind::kLbfgs) {
      throw BadInput("--simulator ground-truth gives no gradients: use --optimizer cem or random");
    }
    ground_truth = std::make_unique<design::GroundTruthProblem>(task, options.ground_truth);
  }
  std::cerr << "designing '" << task.name << "': " << problem.Dimension() << " parameters, " << problem.Frames()
            << " frames, " << problem.BirthFrames().size() << " particles; " << tasks::OptimizerKindName(options.optimizer.kind)
            << " x " << options.optimizer.iterations << " iterations, " << options.starts << " search"
            << (options.starts > 1 ? "es" : "") << "; model " << model_path;
  const simulator::GroundTruthPhysics& physics = options.ground_truth.physics;
  if (physics.shear_viscosity_m2ps > 0.0) std::cerr << " (fluid: shear viscosity " << physics.shear_viscosity_m2ps << " m^2/s)";
  if (physics.soft_solid_boundary) std::cerr << " (ground truth: soft solid boundary)";
  std::cerr << "\n";
  const design::SearchSummary summary =
      design::RunSearch(task, problem, options, out, args.resume, [](const std::string& line) { std::cerr << line << "\n"; },
                        ground_truth.get());
  std::cout << summary.Table() << "run folder: " << out << " (best_design.json, summary.json"
            << (options.pictures ? ", design.png, ground_truth.gif, comparison.gif, objective.svg" : "") << ")\n";
  return kExitOk;
}

}  // namespace

void AddDesignCommand(CLI::App& root, Action& action) {
  auto* cmd = root.add_subcommand("design", "Optimize a task's tools through the learned simulator, then check in ground truth");
  auto args = std::make_shared<DesignArgs>();
  cmd->add_option("TASK", args->task_path, "Task file (JSON), e.g. tasks/contain.json")->required()->check(CLI::ExistingFile);
  cmd->add_option("--optimizer", args->optimizer, "adam, lbfgs, cem or random (default: the task's)");
  cmd->add_option("--starts", args->starts, "Independent searches, run in parallel (default: the task's)")->check(CLI::PositiveNumber);
  cmd->add_option("--threads", args->threads, "Threads (0 = all cores)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--gradient-memory", args->gradient_memory_mb,
                  "MB the gradient searches running at once may keep of the learned simulator's activations, so "
                  "that their backward passes recompute fewer steps (0 = recompute all; the results are the same; "
                  "default: 2048 or an eighth of the memory, whichever is less)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 30));
  cmd->add_option("--iterations", args->iterations, "Iterations per search (default: the task's)")->check(CLI::PositiveNumber);
  cmd->add_option("--learning-rate", args->learning_rate, "Adam step size (default: the task's)")->check(CLI::PositiveNumber);
  cmd->add_option("--max-step", args->max_step, "Adam: the most a tool point moves per step, metres; 0 = no limit (default: the task's)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-step-adapt", args->max_step_adapt,
                  "Adam: > 1 lets the step limit adapt within [max-step, max-step x F] (1 = fixed; default: the task's)")
      ->check(CLI::Range(1.0, 1e6));
  cmd->add_option("--population", args->population, "CEM / random samples per iteration (default: the task's)")->check(CLI::Range(2, 100000));
  cmd->add_option("--seed", args->seed, "Seed (default: the task's); the same seed gives the same design")->each([args](const std::string&) { args->seed_given = true; });
  cmd->add_option("--model", args->model, "Learned simulator model (.fdm); default: models/default/model.fdm");
  cmd->add_option("--out", args->out, "Run folder (default: runs/<task name>, or -2, -3, ... if that exists)");
  cmd->add_flag("--resume", args->resume, "Continue a killed run in --out (loses at most one iteration)");
  cmd->add_flag("--no-ground-truth", args->no_ground_truth, "Skip the ground-truth check and the pictures");
  cmd->add_flag("--no-pictures", args->no_pictures, "Skip the pictures");
  cmd->add_option("--simulator", args->simulator, "What cem/random evaluate: learned (default) or ground-truth (MPM)")
      ->check(CLI::IsMember({"learned", "ground-truth"}));
  cmd->add_option("--stop-after", args->stop_after, "Stop every search after N more iterations (resume later with --resume)")->check(CLI::PositiveNumber);
  cmd->callback([args, &action] { action = [args] { return RunDesign(*args); }; });
}

}  // namespace flowdesign::cli
