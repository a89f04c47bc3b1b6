// The results table of the published design tasks: every task with adam, lbfgs, cem and random
// search, several seeds each, at an equal wall-clock budget per run; the exact objective under
// the learned simulator and under the ground truth, the transfer gap, simulator steps and time;
// plus the parameter-scaling study on Contain (4 to 48 joints, adam vs cem). Writes a Markdown
// report and an SVG plot.
//
//   ./build/benchmarks/design_results [--model M] [--budget-seconds 60] [--seeds 3]
//                                     [--out docs/RESULTS.md] [--plot docs/scaling.svg] [--quick]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iomanip>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "design/design_problem.h"
#include "design/plot.h"
#include "design/search.h"
#include "simulator/learned/model_file.h"
#include "tasks/file_util.h"
#include "tasks/task_io.h"

using namespace flowdesign;

namespace {

struct Run {
  std::string task, optimizer;
  int parameters = 0, seed = 0;
  double learned = 0.0, truth = 0.0, seconds = 0.0;
  long steps = 0, iterations = 0;
};

Run RunOne(const tasks::Task& task, simulator::learned::LearnedSimulator& simulator, const std::string& optimizer,
           int seed, double budget_seconds) {
  const design::DesignProblem problem(task, simulator);
  design::OptimizerOptions options = design::OptionsFromSettings(task.optimizer, design::StartSeed(seed, 0));
  options.kind = design::ParseOptimizerKind(optimizer);
  options.iterations = 100000;  // the wall-clock budget stops every optimizer
  options.threads = 0;
  design::OptimizerCallbacks callbacks;
  callbacks.on_iteration = [&](const design::IterationRecord& record, const nlohmann::json&) {
    return record.seconds < budget_seconds;
  };
  const auto start = std::chrono::steady_clock::now();
  const design::OptimizerSummary summary =
      design::Optimize(problem, design::StartingPoint(problem, seed, seed == 0 ? 0 : 1, 0.3), options, callbacks);
  Run run;
  run.task = task.name;
  run.optimizer = optimizer;
  run.parameters = problem.Dimension();
  run.seed = seed;
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.steps = problem.SimulatorSteps();
  run.iterations = summary.iterations;
  run.learned = problem.Evaluate(summary.best_x).exact;
  const simulator::Trajectory truth = design::GroundTruthTrajectory(task, summary.best_x);
  run.truth = problem.Objective().Exact(
      torch::from_blob(const_cast<float*>(truth.positions.data()), {truth.frame_count, truth.particle_count, 2}),
      truth.birth_frame, summary.best_x);
  std::fprintf(stderr, "%-12s %-7s seed %d: learned %.4f, ground truth %.4f, %ld iterations, %.0f s\n", run.task.c_str(),
               optimizer.c_str(), seed, run.learned, run.truth, run.iterations, run.seconds);
  return run;
}

double Mean(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / v.size();
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path = "models/default/model.fdm", out = "docs/RESULTS.md", plot_path = "docs/scaling.svg";
  double budget = 60.0;
  int seeds = 3;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--model") model_path = next();
    else if (arg == "--budget-seconds") budget = std::stod(next());
    else if (arg == "--seeds") seeds = std::stoi(next());
    else if (arg == "--out") out = next();
    else if (arg == "--plot") plot_path = next();
    else if (arg == "--quick") quick = true;  // one seed, 5 s budgets: checks the program runs
    else {
      std::fprintf(stderr, "usage: design_results [--model M] [--budget-seconds S] [--seeds N] [--out MD] [--plot SVG] [--quick]\n");
      return 2;
    }
  }
  if (quick) {
    budget = 5.0;
    seeds = 1;
  }
  simulator::learned::ModelFile file;
  auto simulator = simulator::learned::LoadModel(model_path, &file);
  simulator::learned::ConfigureTorchThreads(0);

  std::vector<Run> runs;
  const std::vector<std::string> optimizers{"adam", "lbfgs", "cem", "random"};
  for (const char* name : {"contain", "ramp", "maze"}) {
    const tasks::Task task = tasks::LoadTask(std::string("tasks/") + name + ".json");
    for (const std::string& optimizer : optimizers) {
      for (int seed = 0; seed < seeds; ++seed) runs.push_back(RunOne(task, *simulator, optimizer, seed, budget));
    }
  }
  std::map<std::string, std::vector<std::pair<double, double>>> scaling;  // optimizer -> (parameters, truth)
  for (int joints : {4, 8, 16, 32, 48}) {
    const tasks::Task task = tasks::LoadTask("tasks/contain_" + std::to_string(joints) + ".json");
    for (const char* optimizer : {"adam", "cem"}) {
      std::vector<double> truths;
      for (int seed = 0; seed < seeds; ++seed) {
        runs.push_back(RunOne(task, *simulator, optimizer, seed, budget));
        truths.push_back(runs.back().truth);
      }
      scaling[optimizer].push_back({static_cast<double>(joints), Mean(truths)});
    }
  }

  std::ostringstream md;
  md << "# Results: the published design tasks\n\n"
     << "Generated by `./build/benchmarks/design_results --budget-seconds " << budget << " --seeds " << seeds
     << "` with model `" << model_path << "` (checksum " << file.checksum << "), on this machine's 2 cores.\n"
     << "Objectives are minimized (fraction_inside enters with a minus sign): lower is better. Each run has the same\n"
     << "wall-clock budget; seed 0 starts from the task's neutral design, other seeds from a perturbed one.\n\n"
     << "| task | parameters | optimizer | learned (exact) | ground truth | transfer gap | learned steps | iterations | wall s |\n"
     << "|---|---|---|---|---|---|---|---|---|\n";
  std::map<std::pair<std::string, std::string>, std::vector<const Run*>> groups;
  for (const Run& r : runs) groups[{r.task, r.optimizer}].push_back(&r);
  for (const auto& [key, members] : groups) {
    std::vector<double> learned, truth, seconds, steps, iterations;
    for (const Run* r : members) {
      learned.push_back(r->learned);
      truth.push_back(r->truth);
      seconds.push_back(r->seconds);
      steps.push_back(static_cast<double>(r->steps));
      iterations.push_back(static_cast<double>(r->iterations));
    }
    md << std::fixed << std::setprecision(3) << "| " << key.first << " | " << members.front()->parameters << " | "
       << key.second << " | " << Mean(learned) << " | " << Mean(truth) << " | " << Mean(truth) - Mean(learned) << " | "
       << std::setprecision(0) << Mean(steps) << " | " << Mean(iterations) << " | " << Mean(seconds) << " |\n";
  }
  md << "\nMeans over " << seeds << " seed(s). Parameter scaling on Contain (ground-truth objective against the\n"
     << "number of joint parameters, adam vs cem): [" << plot_path << "](" << plot_path.substr(plot_path.find('/') + 1) << ").\n";
  tasks::WriteFileAtomically(out, md.str());
  std::vector<design::PlotSeries> series;
  for (const auto& [optimizer, points] : scaling) {
    design::PlotSeries s;
    s.name = optimizer;
    s.points = points;
    s.markers = true;
    series.push_back(s);
  }
  design::PlotOptions plot;
  plot.title = "Contain: ground-truth objective vs design parameters";
  plot.x_label = "joint parameters";
  plot.y_label = "ground-truth objective (lower is better)";
  design::WriteSvgPlot(plot_path, series, plot);
  std::printf("%s", md.str().c_str());
  return 0;
}
