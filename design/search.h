// `flowdesign design`: K independent searches in parallel (TBB), each from its own seed, with
// progress, a history per search, checkpoints for --resume, a ground-truth check of every final
// design and the pictures of the best one. Everything lands in a self-describing run folder:
//   task.json, settings.json          the task and every setting (model identity, seed, ...)
//   search_NNN/history.csv            one row per iteration
//   search_NNN/state.json             the optimizer state after the last iteration (resume)
//   search_NNN/design.json            that search's best design
//   best_design.json, summary.json    the best design; all results incl. the transfer gap
//   design.png, ground_truth.gif,     the best design with the fluid at the last frame, its
//   comparison.gif, objective.svg     ground-truth rollout, ground truth | learned, objective
//                                     against iteration for every search
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "design/design_problem.h"
#include "design/optimizer.h"
#include "simulator/ground_truth/mpm_solver.h"

namespace flowdesign::design {

// The default of SearchOptions::kept_activation_mb: 2048, or an eighth of the machine's memory
// where that is less.
int64_t DefaultKeptActivationMb();

struct SearchOptions {
  OptimizerOptions optimizer;       // its seed is replaced by each search's own seed
  int starts = 1;                   // independent searches, >= 1
  int threads = 0;                  // 0 = all cores
  // Memory the gradient searches running at once may fill together with kept activations, so
  // that their backward passes recompute fewer steps (GradientOptions; used by searches without
  // a spare core for a pipelined backward pass). An execution setting: the results do not
  // change, so not in settings.json.
  int64_t kept_activation_mb = DefaultKeptActivationMb();
  std::uint64_t seed = 0;           // search k uses a seed derived from (seed, k)
  double start_spread = 0.3;        // searches k > 0 start at the task's design perturbed by up to
                                    // this fraction of each parameter's range
  bool ground_truth_check = true;   // re-simulate every final design with MPM
  bool pictures = true;             // design.png, ground_truth.gif, comparison.gif, objective.svg
  int stop_after_iterations = 0;    // > 0: every search stops after this many new iterations and
                                    // the run stays resumable (no checks, no pictures)
  std::string model_identity;       // recorded in settings.json (path and checksum)
  std::string search_simulator = "learned";  // what the optimizers evaluate: learned or ground-truth
  // The ground truth's physics (the model's: ModelConfig::physics); part of the model, so not a
  // setting of its own.
  simulator::MpmOptions ground_truth;
};
nlohmann::json SearchOptionsToJson(const SearchOptions& options);

struct StartResult {
  int start = 0;
  std::uint64_t seed = 0;
  std::vector<double> x0;
  OptimizerSummary summary;
  double learned_exact = 0.0;       // exact objective of the final design, learned rollout
  double ground_truth_exact = 0.0;  // the same in the ground truth (NaN if not checked)
  std::vector<objectives::TermReport> learned_terms, ground_truth_terms;
};

struct SearchSummary {
  bool completed = true;         // false: stopped early (stop_after_iterations); resume to finish
  std::vector<StartResult> starts;
  int best_start = 0;            // by the learned exact objective
  double search_seconds = 0.0;   // wall clock of the searches
  double check_seconds = 0.0;    // ground-truth checks and pictures
  long learned_rollouts = 0;
  long gradient_evaluations = 0;
  long simulator_steps = 0;      // learned simulator steps (a gradient costs 3 per frame)
  nlohmann::json ToJson() const;
  std::string Table() const;     // the summary table printed at the end
};

// Runs (or with resume = true, continues) the searches into run_dir. The optimizers minimize
// `search_problem` when given (e.g. a GroundTruthProblem for CEM), else `problem`; final designs
// are always reported with the learned `problem` and checked in the ground truth. `progress`
// receives one line per event (throttled iteration lines, checks, files written).
SearchSummary RunSearch(const tasks::Task& task, const DesignProblem& problem, const SearchOptions& options,
                        const std::string& run_dir, bool resume,
                        const std::function<void(const std::string&)>& progress,
                        const Problem* search_problem = nullptr);

// The ground-truth (MPM) trajectory of design x, with the task's regions for pictures.
simulator::Trajectory GroundTruthTrajectory(const tasks::Task& task, const std::vector<double>& x,
                                            const simulator::MpmOptions& options = {});

// The starting design of search k (k = 0: the task's own initial design; else that design with
// each parameter moved uniformly by up to `spread` of its range). `draw` > 0 gives other
// independent perturbations of the same search.
std::vector<double> StartingPoint(const DesignProblem& problem, std::uint64_t seed, int start, double spread,
                                  int draw = 0);
// The start of search k for optimizer `kind`: StartingPoint's draw 0, except that a gradient
// method's search k > 0 takes, of kStartDraws perturbations (draws 0, 1, ...), the one with the
// lowest smooth objective (one forward rollout each). A random perturbation often lets the fluid
// miss the tools or slide off them; there the objective is flat, and a gradient method stays
// where it starts. Start 0, the task's own design, is kept as it is.
inline constexpr int kStartDraws = 8;
std::vector<double> SearchStartingPoint(const DesignProblem& problem, OptimizerKind kind, std::uint64_t seed,
                                        int start, double spread);
std::uint64_t StartSeed(std::uint64_t seed, int start);

}  // namespace flowdesign::design
