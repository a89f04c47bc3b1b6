#include "design/search.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include <unistd.h>

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "design/plot.h"
#include "design/render.h"
#include "simulator/ground_truth/mpm_solver.h"
#include "simulator/learned/learned_simulator.h"
#include "tasks/file_util.h"
#include "tasks/task_io.h"
#include "tasks/tool_geometry.h"

namespace flowdesign::design {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

std::string StartDirectory(const std::string& run_dir, int start) {
  std::ostringstream name;
  name << run_dir << "/search_" << std::setw(3) << std::setfill('0') << start;
  return name.str();
}

std::string FormatDuration(double seconds) {
  std::ostringstream out;
  if (seconds >= 60) {
    out << static_cast<int>(seconds / 60) << "m" << std::setw(2) << std::setfill('0') << static_cast<int>(seconds) % 60 << "s";
  } else {
    out << std::fixed << std::setprecision(1) << seconds << "s";
  }
  return out.str();
}

std::string HistoryHeader(int dimension) {
  std::string header = "iteration,value,best_value,evaluations,gradient_evaluations,seconds";
  for (int i = 0; i < dimension; ++i) header += ",x" + std::to_string(i);
  return header + "\n";
}

std::string HistoryRow(const IterationRecord& r) {
  std::ostringstream row;
  row << std::setprecision(17) << r.iteration << "," << r.value << "," << r.best_value << "," << r.evaluations << ","
      << r.gradient_evaluations << "," << r.seconds;
  for (double v : r.x) row << "," << v;
  return row.str() + "\n";
}

// Keeps the header and the rows of iterations before `next_iteration` (a resumed run rewrites
// the rest).
void TruncateHistory(const std::string& path, int next_iteration, int dimension) {
  std::string kept = HistoryHeader(dimension);
  std::ifstream in(path);
  std::string line;
  for (bool header = true; std::getline(in, line); header = false) {
    if (!header && !line.empty() && std::stoi(line.substr(0, line.find(','))) < next_iteration) kept += line + "\n";
  }
  tasks::WriteFileAtomically(path, kept);
}

// (iteration, best value) pairs of a history file, for the objective plot.
std::vector<std::pair<double, double>> BestValueCurve(const std::string& path) {
  std::vector<std::pair<double, double>> points;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::stringstream row(line);
    std::string iteration, value, best;
    std::getline(row, iteration, ',');
    std::getline(row, value, ',');
    std::getline(row, best, ',');
    points.push_back({std::stod(iteration), std::stod(best)});
  }
  return points;
}

torch::Tensor PositionsTensor(const simulator::Trajectory& t) {
  return torch::from_blob(const_cast<float*>(t.positions.data()), {t.frame_count, t.particle_count, 2}, torch::kFloat32);
}

simulator::Trajectory LearnedTrajectory(const tasks::Task& task, const std::vector<double>& x,
                                        const LearnedEvaluation& evaluation, const std::vector<int>& birth) {
  const simulator::Scene scene = simulator::BuildScene(task, x);
  const torch::Tensor positions = evaluation.positions.contiguous();
  simulator::Trajectory t = simulator::EmptyTrajectory(scene, static_cast<int>(positions.size(1)), static_cast<int>(positions.size(0)));
  t.simulator = "learned";
  t.regions = task.regions;
  const auto p = positions.accessor<float, 3>();
  for (int f = 0; f < t.frame_count; ++f) {
    for (int i = 0; i < t.particle_count; ++i) {
      if (birth[i] > f) continue;
      const size_t k = (static_cast<size_t>(f) * t.particle_count + i) * 2;
      t.positions[k] = p[f][i][0];
      t.positions[k + 1] = p[f][i][1];
    }
  }
  t.birth_frame.assign(birth.begin(), birth.end());
  return t;
}

nlohmann::json TermsJson(const std::vector<objectives::TermReport>& terms) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& t : terms) {
    out.push_back({{"term", t.name}, {"weight", t.weight}, {"value", t.exact_value}, {"contribution", t.exact_contribution}});
  }
  return out;
}

}  // namespace

std::uint64_t StartSeed(std::uint64_t seed, int start) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(start + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::vector<double> StartingPoint(const DesignProblem& problem, std::uint64_t seed, int start, double spread,
                                  int draw) {
  std::vector<double> x = problem.Params().Initial();
  if (start == 0) return x;
  std::mt19937_64 rng(StartSeed(seed, start) ^ 0x57a27ull ^ (static_cast<std::uint64_t>(draw) * 0xD1B54A32D192ED03ull));
  std::uniform_real_distribution<double> u(-spread, spread);
  return tasks::MovedWithinBounds(std::move(x), problem.LowerBounds(), problem.UpperBounds(), [&] { return u(rng); });
}

std::vector<double> SearchStartingPoint(const DesignProblem& problem, OptimizerKind kind, std::uint64_t seed,
                                        int start, double spread) {
  std::vector<double> best = StartingPoint(problem, seed, start, spread);
  if (start == 0 || !UsesGradient(kind)) return best;
  double best_value = problem.Value(best);
  for (int draw = 1; draw < kStartDraws; ++draw) {
    std::vector<double> x = StartingPoint(problem, seed, start, spread, draw);
    const double value = problem.Value(x);
    if (value < best_value || std::isnan(best_value)) {  // NaN: a diverged rollout
      best = std::move(x);
      best_value = value;
    }
  }
  return best;
}

int64_t DefaultKeptActivationMb() {
  const long pages = sysconf(_SC_PHYS_PAGES), page_bytes = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_bytes <= 0) return 2048;
  return std::min<int64_t>(2048, static_cast<int64_t>(pages) * page_bytes / 8 >> 20);
}

nlohmann::json SearchOptionsToJson(const SearchOptions& o) {
  return {{"optimizer", OptionsToJson(o.optimizer)}, {"starts", o.starts}, {"seed", o.seed},
          {"start_spread", o.start_spread}, {"ground_truth_check", o.ground_truth_check},
          {"model", o.model_identity}, {"search_simulator", o.search_simulator}};
}

simulator::Trajectory GroundTruthTrajectory(const tasks::Task& task, const std::vector<double>& x,
                                            const simulator::MpmOptions& options) {
  simulator::Trajectory t = simulator::SimulateMpm(simulator::BuildScene(task, x), options);
  t.regions = task.regions;
  return t;
}

nlohmann::json SearchSummary::ToJson() const {
  nlohmann::json j;
  j["best_start"] = best_start;
  j["search_seconds"] = search_seconds;
  j["check_seconds"] = check_seconds;
  j["learned_rollouts"] = learned_rollouts;
  j["gradient_evaluations"] = gradient_evaluations;
  j["simulator_steps"] = simulator_steps;
  j["starts"] = nlohmann::json::array();
  for (const StartResult& s : starts) {
    j["starts"].push_back({{"start", s.start},
                           {"seed", s.seed},
                           {"x0", s.x0},
                           {"best_x", s.summary.best_x},
                           {"best_smooth_objective", s.summary.best_value},
                           {"learned_exact_objective", s.learned_exact},
                           {"ground_truth_exact_objective", std::isfinite(s.ground_truth_exact) ? nlohmann::json(s.ground_truth_exact) : nlohmann::json()},
                           {"transfer_gap", std::isfinite(s.ground_truth_exact) ? nlohmann::json(s.ground_truth_exact - s.learned_exact) : nlohmann::json()},
                           {"learned_terms", TermsJson(s.learned_terms)},
                           {"ground_truth_terms", TermsJson(s.ground_truth_terms)},
                           {"iterations", s.summary.iterations},
                           {"evaluations", s.summary.evaluations},
                           {"gradient_evaluations", s.summary.gradient_evaluations},
                           {"seconds", s.summary.seconds},
                           {"termination", s.summary.termination}});
  }
  return j;
}

std::string SearchSummary::Table() const {
  std::ostringstream out;
  if (!completed) return "stopped early: resume to finish the searches and check the designs\n";
  out << "search  iterations  evaluations  seconds   learned (exact)  ground truth  transfer gap\n";
  for (const StartResult& s : starts) {
    out << std::setw(6) << s.start << std::setw(12) << s.summary.iterations << std::setw(13) << s.summary.evaluations
        << std::setw(9) << std::fixed << std::setprecision(1) << s.summary.seconds << std::setprecision(4) << std::setw(17)
        << s.learned_exact << std::setw(14) << s.ground_truth_exact << std::setw(14)
        << s.ground_truth_exact - s.learned_exact << (s.start == best_start ? "   <- best" : "") << "\n";
  }
  const StartResult& best = starts[best_start];
  out << "\nbest design (search " << best_start << "), exact objective terms:\n";
  for (size_t i = 0; i < best.learned_terms.size(); ++i) {
    out << "  " << std::left << std::setw(28) << best.learned_terms[i].name << std::right << " learned "
        << std::setprecision(4) << best.learned_terms[i].exact_value;
    if (i < best.ground_truth_terms.size()) out << "   ground truth " << best.ground_truth_terms[i].exact_value;
    out << "\n";
  }
  out << "budget: " << learned_rollouts << " learned rollouts, " << gradient_evaluations << " gradient evaluations, "
      << simulator_steps << " learned simulator steps, " << FormatDuration(search_seconds) << " searching, "
      << FormatDuration(check_seconds) << " checking\n";
  return out.str();
}

SearchSummary RunSearch(const tasks::Task& task, const DesignProblem& problem, const SearchOptions& options,
                        const std::string& run_dir, bool resume,
                        const std::function<void(const std::string&)>& progress,
                        const Problem* search_problem) {
  const Problem& optimized = search_problem != nullptr ? *search_problem : problem;
  if (options.starts < 1) throw std::invalid_argument("starts: must be >= 1 (got " + std::to_string(options.starts) + ")");
  CheckValid(options.optimizer);
  const std::string settings_path = run_dir + "/settings.json";
  nlohmann::json settings = SearchOptionsToJson(options);
  settings["task"] = tasks::TaskToJson(task);
  if (resume) {
    if (!fs::exists(settings_path)) throw std::invalid_argument(run_dir + ": nothing to resume (no settings.json)");
    const nlohmann::json previous = nlohmann::json::parse(tasks::ReadFile(settings_path));
    for (const auto& [key, value] : settings.items()) {
      if (previous.value(key, nlohmann::json()) != value) {
        throw std::invalid_argument(run_dir + ": was started with a different " + key + "; resume with the same settings or use a new --out");
      }
    }
  } else if (fs::exists(settings_path)) {
    throw std::invalid_argument(run_dir + ": already holds a run; add --resume to continue it or choose another --out");
  }
  fs::create_directories(run_dir);
  tasks::SaveTask(task, run_dir + "/task.json");
  tasks::WriteFileAtomically(settings_path, settings.dump(2) + "\n");

  // Cores go to parallel searches and populations first. LibTorch's own threads only pay off
  // for large scenes: at ~300 particles a design iteration took the same 3 s with 1 and 2
  // threads here, and 2 threads spin-wait badly when another process uses a core.
  const int cores = options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const bool sampling = !UsesGradient(options.optimizer.kind);
  const bool large_scene = problem.BirthFrames().size() >= 1000;
  simulator::learned::ConfigureTorchThreads(sampling || !large_scene ? 1 : std::max(1, cores / options.starts));
  // A gradient search on one LibTorch thread with a core to spare recomputes its steps on that
  // core while it back-propagates (~30% less time per iteration, the same gradient); one
  // without keeps the activations of as many steps as its share of the memory allows instead,
  // so as not to recompute them (contain, 2 searches on 2 cores: ~20% less time).
  if (!sampling && !large_scene && cores / options.starts >= 2) {
    problem.SetGradientOptions({simulator::learned::Backward::kPipelined, 0});
    progress("gradients: each search recomputes its steps on a second core while it back-propagates");
  } else {
    const int64_t running_at_once = std::min(options.starts, cores);
    const int64_t kept_bytes = (options.kept_activation_mb << 20) / running_at_once;
    problem.SetGradientOptions({simulator::learned::Backward::kSerial, kept_bytes});
    if (!sampling) {
      progress("gradients: each search keeps up to " + std::to_string(kept_bytes >> 20) +
               " MB of activations instead of recomputing its steps (--gradient-memory)");
    }
  }

  SearchSummary summary;
  summary.starts.resize(options.starts);
  std::mutex progress_mutex;
  const auto start_time = Clock::now();
  std::vector<Clock::time_point> last_line(options.starts, Clock::now() - std::chrono::hours(1));
  std::vector<int> new_iterations(options.starts, 0);
  tbb::task_arena arena(cores);
  arena.execute([&] {
    tbb::parallel_for(0, options.starts, [&](int k) {
      StartResult& result = summary.starts[k];
      result.start = k;
      result.seed = StartSeed(options.seed, k);
      result.x0 = SearchStartingPoint(problem, options.optimizer.kind, options.seed, k, options.start_spread);
      const std::string dir = StartDirectory(run_dir, k);
      fs::create_directories(dir);
      const std::string history_path = dir + "/history.csv", state_path = dir + "/state.json";
      nlohmann::json resume_state;
      const bool resuming = resume && fs::exists(state_path);
      if (resuming) {
        resume_state = nlohmann::json::parse(tasks::ReadFile(state_path));
        TruncateHistory(history_path, resume_state.at("next_iteration").get<int>(), problem.Dimension());
      } else {
        tasks::WriteFileAtomically(history_path, HistoryHeader(problem.Dimension()));
      }
      std::ofstream history(history_path, std::ios::app);
      OptimizerOptions optimizer = options.optimizer;
      optimizer.seed = result.seed;
      optimizer.threads = options.starts > 1 ? 1 : cores;
      OptimizerCallbacks callbacks;
      callbacks.on_iteration = [&, k](const IterationRecord& record, const nlohmann::json& state) {
        history << HistoryRow(record) << std::flush;
        tasks::WriteFileAtomically(state_path, state.dump() + "\n");
        const bool last = record.iteration + 1 >= optimizer.iterations;
        std::lock_guard<std::mutex> lock(progress_mutex);
        if (last || Seconds(last_line[k]) > 2.0) {
          const double per_iteration = record.seconds / std::max(1, record.iteration + 1);
          std::ostringstream line;
          line << "[search " << k + 1 << "/" << options.starts << "] iteration " << record.iteration + 1 << "/"
               << optimizer.iterations << "  objective " << std::setprecision(4) << record.value << "  best "
               << record.best_value << "  elapsed " << FormatDuration(Seconds(start_time)) << "  ETA "
               << FormatDuration(per_iteration * (optimizer.iterations - record.iteration - 1));
          progress(line.str());
          last_line[k] = Clock::now();
        }
        ++new_iterations[k];
        return options.stop_after_iterations <= 0 || new_iterations[k] < options.stop_after_iterations;
      };
      result.summary = Optimize(optimized, result.x0, optimizer, callbacks, resuming ? &resume_state : nullptr);
      tasks::SaveDesign(task, {task.name, result.summary.best_x}, dir + "/design.json");
    });
  });
  summary.search_seconds = Seconds(start_time);
  summary.learned_rollouts = problem.Rollouts();
  summary.gradient_evaluations = problem.GradientEvaluations();
  summary.simulator_steps = problem.SimulatorSteps();
  for (const StartResult& result : summary.starts) {
    if (result.summary.termination_type == OptimizerTermination::kStoppedByCallback) summary.completed = false;
  }
  if (!summary.completed) {
    progress("stopped after " + std::to_string(options.stop_after_iterations) + " iterations; continue with --resume");
    return summary;
  }

  // Every final design in both simulators.
  const auto check_start = Clock::now();
  simulator::learned::ConfigureTorchThreads(cores);
  for (StartResult& result : summary.starts) {
    const std::vector<double>& x = result.summary.best_x;
    const LearnedEvaluation learned = problem.Evaluate(x);
    result.learned_exact = learned.exact;
    result.learned_terms = problem.Objective().Report(learned.positions, problem.BirthFrames(), x);
    result.ground_truth_exact = std::nan("");
    if (options.ground_truth_check) {
      const simulator::Trajectory truth = GroundTruthTrajectory(task, x, options.ground_truth);
      result.ground_truth_exact = problem.Objective().Exact(PositionsTensor(truth), truth.birth_frame, x);
      result.ground_truth_terms = problem.Objective().Report(PositionsTensor(truth), truth.birth_frame, x);
    }
    progress("search " + std::to_string(result.start + 1) + ": exact objective " + std::to_string(result.learned_exact) +
             " learned, " + std::to_string(result.ground_truth_exact) + " ground truth");
  }
  for (const StartResult& result : summary.starts) {
    if (result.learned_exact < summary.starts[summary.best_start].learned_exact) summary.best_start = result.start;
  }
  const StartResult& best = summary.starts[summary.best_start];
  tasks::SaveDesign(task, {task.name, best.summary.best_x}, run_dir + "/best_design.json");

  if (options.pictures) {
    const simulator::Trajectory truth = GroundTruthTrajectory(task, best.summary.best_x, options.ground_truth);
    WriteFramePng(truth, truth.frame_count - 1, run_dir + "/design.png");
    WriteAnimatedGif(truth, run_dir + "/ground_truth.gif");
    const LearnedEvaluation learned = problem.Evaluate(best.summary.best_x);
    WriteSideBySideGif(truth, LearnedTrajectory(task, best.summary.best_x, learned, problem.BirthFrames()),
                       run_dir + "/comparison.gif");
    std::vector<PlotSeries> curves;
    for (int k = 0; k < options.starts; ++k) {
      PlotSeries curve;
      curve.name = "search " + std::to_string(k);
      curve.points = BestValueCurve(StartDirectory(run_dir, k) + "/history.csv");
      curves.push_back(curve);
    }
    PlotOptions plot;
    plot.title = task.name + ": best smooth objective (learned simulator)";
    plot.x_label = "iteration";
    plot.y_label = "objective (lower is better)";
    WriteSvgPlot(run_dir + "/objective.svg", curves, plot);
  }
  summary.check_seconds = Seconds(check_start);
  tasks::WriteFileAtomically(run_dir + "/summary.json", summary.ToJson().dump(2) + "\n");
  return summary;
}

}  // namespace flowdesign::design
