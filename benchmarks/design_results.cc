// The results table of the published design tasks: every task with adam, lbfgs, cem and random
// search, several seeds each, at an equal wall-clock budget per run; the exact objective under
// the learned simulator and under the ground truth, the transfer gap, simulator steps and time;
// plus the parameter-scaling study on Contain (4 to 48 joints, adam vs cem). Writes a Markdown
// report and an SVG plot.
//
//   ./build/benchmarks/design_results [--model M] [--budget-seconds 60] [--seeds 3]
//                                     [--out docs/RESULTS.md] [--plot docs/scaling.svg]
//                                     [--runs docs/results_runs.csv] [--threads 1] [--jobs 1] [--quick]
//                                     [--tasks contain_16,contain_32]   (only these tasks' runs and rows)
//                                     [--optimizers adam,cem]   (only these optimizers' runs and rows)
//                                     [--task-budget maze=120 ...]   (another budget for one task's runs)
//                                     [--designs DIR]   (each run's best design as DIR/TASK-OPTIMIZER-seedN.json)
//
// --jobs K runs K optimizations at once (each with --threads LibTorch threads), so one machine's
// cores all work while every run keeps the same per-run budget and resources.
// Every finished run is added to the --runs CSV at once; a restarted program reuses the rows of
// the same model, budget, task, optimizer and seed, so an interrupted table resumes.
// --task-budget gives one task's runs another budget (every optimizer of that task still gets the
// same): a maze rollout is 200 frames of ~600 particles, so 60 s buys CEM one generation.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <mutex>
#include <thread>
#include <sstream>
#include <string>
#include <vector>

#include "design/design_problem.h"
#include "design/ground_truth_problem.h"
#include "design/plot.h"
#include "design/search.h"
#include "simulator/learned/blas_kernels.h"
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
  std::vector<double> best_x;  // only for runs made by this program, not those read from the log
};

Run RunOne(const tasks::Task& task, simulator::learned::LearnedSimulator& simulator, const std::string& optimizer,
           int seed, double budget_seconds, int threads) {
  const design::DesignProblem problem(task, simulator);
  design::OptimizerOptions options = design::OptionsFromSettings(task.optimizer, design::StartSeed(seed, 0));
  options.kind = design::ParseOptimizerKind(optimizer);
  options.iterations = 100000;  // the wall-clock budget stops every optimizer
  options.threads = threads;
  design::OptimizerCallbacks callbacks;
  // Stop when another iteration as long as the last one would overrun the budget, so that no
  // optimizer gets more time than the others by finishing a long iteration late.
  double previous_seconds = 0.0, drawing_seconds = 0.0;
  callbacks.on_iteration = [&](const design::IterationRecord& record, const nlohmann::json&) {
    const double last = record.seconds - previous_seconds;
    previous_seconds = record.seconds;
    return drawing_seconds + record.seconds + last <= budget_seconds;
  };
  const auto start = std::chrono::steady_clock::now();
  // Gradient methods start from the best of several perturbations (as `design` does); the
  // screening counts against their budget.
  const std::vector<double> x0 = design::SearchStartingPoint(problem, options.kind, seed, seed == 0 ? 0 : 1, 0.3);
  drawing_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const design::OptimizerSummary summary = design::Optimize(problem, x0, options, callbacks);
  Run run;
  run.task = task.name;
  run.optimizer = optimizer;
  run.parameters = problem.Dimension();
  run.seed = seed;
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.steps = problem.SimulatorSteps();
  run.iterations = summary.iterations;
  run.best_x = summary.best_x;
  run.learned = problem.Evaluate(summary.best_x).exact;
  run.truth = design::GroundTruthProblem(task, design::GroundTruthFor(simulator.Config())).Value(summary.best_x);
  std::fprintf(stderr, "%-12s %-7s seed %d: learned %.4f, ground truth %.4f, %ld iterations, %.0f s\n", run.task.c_str(),
               optimizer.c_str(), seed, run.learned, run.truth, run.iterations, run.seconds);
  return run;
}

// Finished runs on disk, keyed by model checksum, budget, task, optimizer and seed.
class RunLog {
 public:
  RunLog(std::string path, std::string model_checksum)
      : path_(std::move(path)), checksum_(std::move(model_checksum)) {
    std::ifstream in(path_);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string checksum, budget_text, task, optimizer, parameters, seed, learned, truth, seconds, steps, iterations;
      for (std::string* f : {&checksum, &budget_text, &task, &optimizer, &parameters, &seed, &learned, &truth, &seconds,
                             &steps, &iterations}) {
        std::getline(fields, *f, ',');
      }
      rows_.push_back(line);
      if (checksum != checksum_) continue;
      Run r{task, optimizer, std::stoi(parameters), std::stoi(seed), std::stod(learned), std::stod(truth),
            std::stod(seconds), std::stol(steps), std::stol(iterations), {}};
      done_[Key(task, optimizer, r.seed, std::stod(budget_text))] = r;
    }
  }
  const Run* Find(const std::string& task, const std::string& optimizer, int seed, double budget) const {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = done_.find(Key(task, optimizer, seed, budget));
    return it == done_.end() ? nullptr : &it->second;
  }
  void Add(const Run& r, double budget) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::ostringstream row;
    row << std::setprecision(17) << checksum_ << "," << budget << "," << r.task << "," << r.optimizer << ","
        << r.parameters << "," << r.seed << "," << r.learned << "," << r.truth << "," << r.seconds << "," << r.steps
        << "," << r.iterations;
    rows_.push_back(row.str());
    done_[Key(r.task, r.optimizer, r.seed, budget)] = r;
    std::string text = "model_checksum,budget_seconds,task,optimizer,parameters,seed,learned,ground_truth,seconds,steps,iterations\n";
    for (const std::string& line : rows_) text += line + "\n";
    const std::filesystem::path parent = std::filesystem::path(path_).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    tasks::WriteFileAtomically(path_, text);
  }

 private:
  static std::string Key(const std::string& task, const std::string& optimizer, int seed, double budget) {
    std::ostringstream key;
    key << std::setprecision(17) << task << "/" << optimizer << "/" << seed << "/" << budget;
    return key.str();
  }
  std::string path_, checksum_;
  std::vector<std::string> rows_;
  std::map<std::string, Run> done_;  // std::map: pointers stay valid as runs are added
  mutable std::mutex mutex_;
};

double Mean(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / v.size();
}

}  // namespace

int main(int argc, char** argv) {
  flowdesign::simulator::learned::RestartWithFittingOpenBlasKernels(argv);
  std::string model_path = "models/default/model.fdm", out = "docs/RESULTS.md", plot_path = "docs/scaling.svg";
  std::string runs_path = "docs/results_runs.csv";
  double budget = 60.0;
  int seeds = 3;
  int threads = 1;  // LibTorch threads per run; 0: all cores
  int jobs = 1;     // runs at once
  bool quick = false;
  std::string only_tasks;  // comma-separated task names; empty: every task
  std::string only_optimizers;  // comma-separated optimizer names; empty: every optimizer
  std::string designs_dir;  // where each run's best design goes; empty: nowhere
  std::map<std::string, double> task_budgets;  // --task-budget NAME=SECONDS
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--model") model_path = next();
    else if (arg == "--budget-seconds") budget = std::stod(next());
    else if (arg == "--seeds") seeds = std::stoi(next());
    else if (arg == "--out") out = next();
    else if (arg == "--plot") plot_path = next();
    else if (arg == "--runs") runs_path = next();
    else if (arg == "--threads") threads = std::stoi(next());
    else if (arg == "--jobs") jobs = std::max(1, std::stoi(next()));
    else if (arg == "--quick") quick = true;  // one seed, 5 s budgets: checks the program runs
    else if (arg == "--tasks") only_tasks = "," + next() + ",";  // a partial table, e.g. to try a model
    else if (arg == "--optimizers") only_optimizers = "," + next() + ",";  // e.g. more seeds for one optimizer
    else if (arg == "--designs") designs_dir = next();
    else if (arg == "--task-budget") {
      const std::string value = next();
      const size_t equals = value.find('=');
      double seconds = 0.0;
      try {
        seconds = equals == std::string::npos ? 0.0 : std::stod(value.substr(equals + 1));
      } catch (const std::exception&) {
      }
      if (equals == 0 || equals == std::string::npos || !(seconds > 0.0)) {
        std::fprintf(stderr, "--task-budget %s: expected NAME=SECONDS with SECONDS > 0\n", value.c_str());
        return 2;
      }
      task_budgets[value.substr(0, equals)] = seconds;
    }
    else {
      std::fprintf(stderr, "usage: design_results [--model M] [--budget-seconds S] [--seeds N] [--out MD] [--plot SVG] [--runs CSV] [--threads N] [--jobs K] [--quick] [--tasks NAME,NAME] [--optimizers NAME,NAME] [--task-budget NAME=S ...] [--designs DIR]\n");
      return 2;
    }
  }
  if (quick) {
    budget = 5.0;
    seeds = 1;
  }
  simulator::learned::ModelFile file;
  auto simulator = simulator::learned::LoadModel(model_path, &file);
  simulator::learned::ConfigureTorchThreads(threads);
  RunLog log(runs_path, file.checksum);
  const auto budget_of = [&](const std::string& task) {
    const auto it = task_budgets.find(task);
    return it == task_budgets.end() || quick ? budget : it->second;
  };

  // Every run of the table, in table order: the main tasks with every optimizer, then the
  // parameter-scaling study on Contain (adam vs cem).
  struct Job {
    tasks::Task task;
    std::string optimizer;
    int seed = 0;
    double budget = 0.0;  // seconds
  };
  std::vector<Job> jobs_in_order;
  const std::vector<std::string> optimizers{"adam", "lbfgs", "cem", "random"};
  for (const char* name : {"contain", "ramp", "maze"}) {
    const tasks::Task task = tasks::LoadTask(std::string("tasks/") + name + ".json");
    for (const std::string& optimizer : optimizers)
      for (int seed = 0; seed < seeds; ++seed) jobs_in_order.push_back({task, optimizer, seed, budget_of(task.name)});
  }
  const std::vector<int> joint_counts{4, 8, 16, 32, 48};
  for (int joints : joint_counts) {
    const tasks::Task task = tasks::LoadTask("tasks/contain_" + std::to_string(joints) + ".json");
    for (const char* optimizer : {"adam", "cem"})
      for (int seed = 0; seed < seeds; ++seed) jobs_in_order.push_back({task, optimizer, seed, budget_of(task.name)});
  }

  for (const auto& [name, seconds] : task_budgets) {
    const auto named = [&, name = name](const Job& job) { return job.task.name == name; };
    if (std::none_of(jobs_in_order.begin(), jobs_in_order.end(), named)) {
      std::fprintf(stderr, "--task-budget %s=%g: no such task among contain, ramp, maze, contain_N\n", name.c_str(), seconds);
      return 2;
    }
  }
  // --tasks and --optimizers: a partial table, e.g. to try a model or add seeds.
  const auto keep_only = [&](const char* option, const std::string& only, auto name_of, const char* known) {
    if (only.empty()) return true;
    const auto not_asked = [&](const Job& job) { return only.find("," + name_of(job) + ",") == std::string::npos; };
    jobs_in_order.erase(std::remove_if(jobs_in_order.begin(), jobs_in_order.end(), not_asked), jobs_in_order.end());
    if (!jobs_in_order.empty()) return true;
    std::fprintf(stderr, "%s %s: nothing to run (known: %s)\n", option, only.substr(1, only.size() - 2).c_str(), known);
    return false;
  };
  if (!keep_only("--tasks", only_tasks, [](const Job& job) { return job.task.name; }, "contain, ramp, maze, contain_N") ||
      !keep_only("--optimizers", only_optimizers, [](const Job& job) { return job.optimizer; }, "adam, lbfgs, cem, random")) {
    return 2;
  }

  // Runs not in the log yet, taken in order by `jobs` workers; each is logged as it finishes.
  std::vector<const Job*> missing;
  for (const Job& job : jobs_in_order)
    if (!log.Find(job.task.name, job.optimizer, job.seed, job.budget)) missing.push_back(&job);
  std::atomic<size_t> next_job{0};
  std::atomic<bool> failed{false};
  auto worker = [&]() {
    for (size_t k; !failed && (k = next_job++) < missing.size();) {
      try {
        const Job& job = *missing[k];
        const Run run = RunOne(job.task, *simulator, job.optimizer, job.seed, job.budget, threads);
        if (!designs_dir.empty()) {
          std::filesystem::create_directories(designs_dir);
          tasks::SaveDesign(job.task, {job.task.name, run.best_x},
                            designs_dir + "/" + job.task.name + "-" + job.optimizer + "-seed" + std::to_string(job.seed) + ".json");
        }
        log.Add(run, job.budget);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "%s %s seed %d failed: %s\n", missing[k]->task.name.c_str(), missing[k]->optimizer.c_str(),
                     missing[k]->seed, e.what());
        failed = true;
      }
    }
  };
  std::vector<std::thread> workers;
  for (int j = 0; j < std::min<int>(jobs, static_cast<int>(missing.size())); ++j) workers.emplace_back(worker);
  for (std::thread& t : workers) t.join();
  if (failed) return 1;

  std::vector<Run> runs;
  for (const Job& job : jobs_in_order) runs.push_back(*log.Find(job.task.name, job.optimizer, job.seed, job.budget));
  std::map<std::string, std::vector<std::pair<double, double>>> scaling;  // optimizer -> (parameters, truth)
  for (int joints : joint_counts) {
    for (const char* optimizer : {"adam", "cem"}) {
      std::vector<double> truths;
      for (const Run& r : runs)
        if (r.task == "contain_" + std::to_string(joints) && r.optimizer == optimizer) truths.push_back(r.truth);
      if (!truths.empty()) scaling[optimizer].push_back({static_cast<double>(joints), Mean(truths)});
    }
  }

  std::string task_budget_flags, task_budget_text;
  for (const auto& [name, seconds] : task_budgets) {
    std::ostringstream assignment;
    assignment << name << "=" << seconds;
    task_budget_flags += " --task-budget " + assignment.str();
    task_budget_text += (task_budget_text.empty() ? "" : ", ") + assignment.str() + " s";
  }
  std::ostringstream md;
  md << "# Results: the published design tasks\n\n"
     << "Generated by `./build/benchmarks/design_results --budget-seconds " << budget << task_budget_flags << " --seeds " << seeds
     << " --threads " << threads << " --jobs " << jobs
     << (only_tasks.empty() ? "" : " --tasks " + only_tasks.substr(1, only_tasks.size() - 2))
     << (only_optimizers.empty() ? "" : " --optimizers " + only_optimizers.substr(1, only_optimizers.size() - 2)) << "` with model `" << model_path << "` (checksum " << file.checksum << "), "
     << "on this machine: " << jobs << " run(s) at once, " << (threads == 0 ? std::string("all cores") : std::to_string(threads) + " LibTorch thread(s)")
     << " each, OpenBLAS's " << simulator::learned::OpenBlasCoreName() << " kernels (wall-clock budgets buy more on a faster machine).\n"
     << "Objectives are minimized (fraction_inside enters with a minus sign): lower is better. Every run of a task has the\n"
     << "same wall-clock budget (" << budget << " s" << (task_budget_text.empty() ? "" : "; " + task_budget_text) << "); seed 0 starts from the task's neutral design, other seeds from a perturbed one\n"
     << "(adam and lbfgs: the best of 8 perturbations by learned objective, screened within their budget).\n\n"
     << "| task | parameters | optimizer | learned (exact) | ground truth | ground truth, seeds' range | transfer gap | learned steps | iterations | wall s |\n"
     << "|---|---|---|---|---|---|---|---|---|---|\n";
  // Groups in the order they ran (task by task).
  std::vector<std::pair<std::pair<std::string, std::string>, std::vector<const Run*>>> groups;
  for (const Run& r : runs) {
    const std::pair<std::string, std::string> key{r.task, r.optimizer};
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == key; });
    if (it == groups.end()) it = groups.insert(groups.end(), {key, {}});
    it->second.push_back(&r);
  }
  std::map<std::pair<std::string, std::string>, double> mean_truth, mean_learned;
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
       << key.second << " | " << Mean(learned) << " | " << Mean(truth) << " | "
       << *std::min_element(truth.begin(), truth.end()) << " .. " << *std::max_element(truth.begin(), truth.end()) << " | "
       << Mean(truth) - Mean(learned) << " | "
       << std::setprecision(0) << Mean(steps) << " | " << Mean(iterations) << " | " << Mean(seconds) << " |\n";
    mean_truth[key] = Mean(truth);
    mean_learned[key] = Mean(learned);
  }

  // The goals of the results issue, checked on the means above.
  md << "\n## Goals\n\n| task | parameters | adam vs cem in ground truth (adam <= cem?) | adam keeps >= 90% of its learned objective? |\n"
     << "|---|---|---|---|\n";
  for (const auto& [key, members] : groups) {
    if (key.second != "adam" || !mean_truth.count({key.first, "cem"})) continue;
    const double adam = mean_truth[key], cem = mean_truth[{key.first, "cem"}], learned = mean_learned[key];
    // Objectives are negative when good: keeping 90% means truth <= 0.9 * learned for learned < 0.
    const bool transfers = learned < 0.0 ? adam <= 0.9 * learned : adam <= learned + 0.1 * std::abs(learned);
    md << std::fixed << std::setprecision(3) << "| " << key.first << " | " << members.front()->parameters << " | "
       << adam << " vs " << cem << ": " << (adam <= cem ? "yes" : "no") << " | " << adam << " vs " << learned << ": "
       << (transfers ? "yes" : "no") << " |\n";
  }
  md << "\nMeans over " << seeds << " seed(s); every run is a row of [" << runs_path << "]("
     << runs_path.substr(runs_path.find('/') + 1) << "). Parameter scaling on Contain (ground-truth objective against the\n"
     << "number of joint parameters, adam vs cem): [" << plot_path << "](" << plot_path.substr(plot_path.find('/') + 1) << ").\n"
     << "Why designs lose part of their learned objective in the ground truth, measured: [docs/TRANSFER.md](TRANSFER.md).\n";
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
