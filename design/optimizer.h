// The design engine's optimizers behind one entry point: options (with a validator), per-
// iteration records, a Ceres-style summary, resumable state, and the factory that picks Adam,
// L-BFGS (Ceres), CEM or random search. docs/optimizers.md explains each one.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "design/problem.h"
#include "tasks/task.h"

namespace flowdesign::design {

using tasks::OptimizerKind;

// "adam", "lbfgs", "cem" or "random" -> the kind (the inverse of tasks::OptimizerKindName).
// Throws std::invalid_argument("unknown optimizer 'foo' (expected adam, lbfgs, cem or random)").
OptimizerKind ParseOptimizerKind(const std::string& name);
// Adam and L-BFGS follow the gradient; CEM and random search only sample values.
inline bool UsesGradient(OptimizerKind kind) { return kind == OptimizerKind::kAdam || kind == OptimizerKind::kLbfgs; }

struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::kAdam;
  // Iterations of the whole optimization, >= 1. Adam: one gradient evaluation each; L-BFGS:
  // Ceres' max_num_iterations (each iteration is a line search of one or more evaluations);
  // CEM / random search: one population each. A resumed run counts the iterations done before.
  int iterations = 100;

  // Adam ------------------------------------------------------------------------------------
  // Step size in the unconstrained variable z (x = lower + range * (tanh(z) + 1) / 2). Near the
  // middle of a range a step of dz moves x by about dz / 2 of the range. > 0.
  double learning_rate = 0.05;
  // The step size is learning_rate * learning_rate_decay^k at the k-th step (k from 0), so a
  // long run settles into a basin it has found instead of overshooting it. In (0, 1]; 1 = off.
  double learning_rate_decay = 1.0;
  // After this many steps in a row without a new best value, Adam goes back to its best design,
  // forgets its moments and halves its step size: a step that left a good basin (momentum
  // carrying it over a ridge, or a gradient that stopped describing the objective) costs at
  // most this many iterations. >= 0; 0 = off.
  int restart_patience = 0;
  // The most any tool point may move in one Adam step, in metres (Problem::Displacement); a
  // longer step is shortened along its direction. Adam moves every joint of a chain by about
  // the same angle, so without a limit a long chain's tip sweeps far more than one particle
  // spacing per step, past where the gradient says anything. >= 0; 0 = off.
  double max_step_m = 0.0;
  // With a value F > 1 the limit adapts like a trust region, within [max_step, max_step * F]:
  // it doubles after a step that went as far as allowed and delivered at least 3/4 of the
  // decrease its gradient predicted, and halves after one that delivered less than 1/4 (or made
  // the objective worse). From a flat start the objective is nearly linear over centimetres and
  // a fixed limit only slows the search; near a cup it changes within a fraction of a degree.
  // A restart (restart_patience) halves the limit as well as the learning rate. >= 1; 1 = a
  // fixed limit. Needs max_step > 0.
  double max_step_adapt = 1.0;
  // At a restart (restart_patience) Adam first tries this many random designs around its best
  // one (each parameter moved uniformly by up to restart_spread of its range; value only, no
  // gradient) and, when the best of them beats its best value, continues from there with fresh
  // moments and the full step size instead of halving the step: a local method stuck in a
  // shallow basin (a flat cup that spills) hops to a deeper one. >= 0; 0 = off.
  int restart_draws = 0;
  double restart_spread = 0.3;  // in (0, 1]
  // A step whose objective is worse than where it started is not taken further: Adam tries half
  // of it instead (and half again), its moments unchanged, until a point is no worse or
  // restart_patience runs out. Without it Adam walks on from a worse point, and on rough
  // objectives (the maze: one step moved water into another channel, 0.55 -> 0.64) it spends
  // iterations there before a restart brings it back.
  bool backtrack = false;
  double adam_beta1 = 0.9;      // first-moment decay, in [0, 1)
  double adam_beta2 = 0.999;    // second-moment decay, in [0, 1)
  double adam_epsilon = 1e-8;   // added to sqrt(second moment), > 0

  // CEM and random search -------------------------------------------------------------------
  int population = 16;            // samples evaluated per iteration, >= 2
  double elite_fraction = 0.25;   // CEM: the best ceil(fraction * population) refit the
                                  // distribution, in (0, 1]
  double initial_std = 0.25;      // CEM: first standard deviation, a fraction of each
                                  // parameter's range, > 0
  double min_std = 0.01;          // CEM: floor of the standard deviation, a fraction of each
                                  // parameter's range, in [0, initial_std]
  double std_smoothing = 0.5;     // CEM: std = std_smoothing * old std + (1 - std_smoothing)
                                  // * elite std (the mean is not smoothed); in [0, 1)

  // L-BFGS ----------------------------------------------------------------------------------
  int lbfgs_memory = 10;          // Ceres max_lbfgs_rank: correction pairs kept, >= 1

  // Common ----------------------------------------------------------------------------------
  std::uint64_t seed = 0;         // CEM / random search: all randomness derives from it
  int threads = 0;                // parallel population evaluation; 0 = all cores, >= 0
};

// "" when the options are valid, else the first problem as "optimizer.<field>: <rule> (got
// <value>)", e.g. "optimizer.population: must be >= 2 (got 1)".
std::string Validate(const OptimizerOptions& options);
// Throws std::invalid_argument(Validate(options)) when that is not empty.
void CheckValid(const OptimizerOptions& options);

// The task's optimizer settings (kind, iterations, learning rate, population, elite fraction)
// and seed as options; every other field keeps its default. `starts` is not an optimizer option.
OptimizerOptions OptionsFromSettings(const tasks::OptimizerSettings& settings,
                                     std::uint64_t seed);
// Every field; `kind` as its name. OptionsFromJson accepts any subset of the fields (missing
// ones keep their defaults) and rejects unknown fields and bad values with
// std::invalid_argument naming the field.
nlohmann::json OptionsToJson(const OptimizerOptions& options);
OptimizerOptions OptionsFromJson(const nlohmann::json& json);

// One completed iteration.
struct IterationRecord {
  int iteration = 0;  // 0-based index within the whole optimization (continues after a resume)
  // Adam / L-BFGS: the value at this iteration's point; CEM / random search: the best value of
  // this iteration's population. NaN or +-inf when the evaluation was not finite.
  double value = std::numeric_limits<double>::quiet_NaN();
  double best_value = std::numeric_limits<double>::infinity();  // best finite value so far
  std::vector<double> best_x;  // where best_value was found
  // Adam: the point evaluated this iteration; L-BFGS: the point after this iteration's step;
  // CEM: the mean this iteration's population was sampled around; random search: the best
  // sample of this iteration.
  std::vector<double> x;
  std::int64_t evaluations = 0;           // Problem::Value + Problem::ValueAndGradient calls
  std::int64_t gradient_evaluations = 0;  // Problem::ValueAndGradient calls
  double seconds = 0.0;                   // wall time of the optimization so far
};
nlohmann::json ToJson(const IterationRecord& record);  // non-finite numbers as "nan"/"inf"/"-inf"

struct OptimizerCallbacks {
  // Called after every iteration with the record and the state that resumes the optimization
  // after it (see Optimize). Return false to stop the optimization after this iteration.
  std::function<bool(const IterationRecord& record, const nlohmann::json& state)> on_iteration;
};

enum class OptimizerTermination {
  kMaxIterations,     // options.iterations completed
  kConverged,         // L-BFGS: a Ceres convergence test held
  kStoppedByCallback, // on_iteration returned false
  kFailure,           // non-finite value at the start, or Ceres gave up (message says why);
                      // best_x / best_value are still the best point seen
};
const char* OptimizerTerminationName(OptimizerTermination termination);

struct OptimizerSummary {
  OptimizerKind kind = OptimizerKind::kAdam;
  int dimension = 0;
  std::vector<double> best_x;  // x0 (clamped into the bounds) until a finite value is seen
  double best_value = std::numeric_limits<double>::infinity();
  // Value at the first evaluated point: x0 (Adam / L-BFGS: x0 moved slightly inside the bounds
  // when it lies on one; CEM / random search: x0 itself, the first sample). Kept across resumes.
  double initial_value = std::numeric_limits<double>::quiet_NaN();
  int first_iteration = 0;   // 0, or the iteration a resumed run continued from
  int iterations = 0;        // iterations completed in total, including those before a resume
  std::int64_t evaluations = 0;           // in total, including those before a resume
  std::int64_t gradient_evaluations = 0;  // in total, including those before a resume
  double seconds = 0.0;                   // in total, including those before a resume
  OptimizerTermination termination_type = OptimizerTermination::kMaxIterations;
  // Why it stopped: "reached max iterations", "stopped by callback",
  // "converged (Ceres: Function tolerance reached. ...)", "failed (...)".
  std::string termination;
  std::vector<IterationRecord> records;  // this call's iterations, first_iteration onwards
  nlohmann::json final_state;            // the state after the last iteration (see Optimize)

  std::string BriefReport() const;  // one line
  std::string FullReport() const;   // several lines, ends with a newline
};

// Minimizes problem.Value over its box bounds, starting from x0, and never evaluates outside
// the bounds. x0 must have problem.Dimension() finite entries; entries outside the bounds are
// clamped into them. Throws std::invalid_argument for invalid options, a bad x0, a problem with
// no parameters, a gradient optimizer on a problem without a gradient, or an unusable
// resume_state. Exceptions thrown by the problem or the callback propagate.
//
// Resume: the `state` handed to on_iteration (and summary.final_state) is plain JSON with every
// double stored losslessly (non-finite ones as strings). Passing it back as resume_state, with
// the same problem and options (options.iterations may grow), continues at the next iteration:
//   - Adam, CEM and random search reproduce exactly, bit for bit, the records an uninterrupted
//     run would have produced (their state is complete; every iteration's random numbers are
//     derived from (seed, iteration)).
//   - L-BFGS cannot: Ceres' solver keeps its curvature pairs and line-search state internally.
//     A resumed L-BFGS restarts Ceres from the state's best x with the remaining iterations,
//     which costs one extra evaluation and forgets the curvature history.
// The state names its optimizer and dimension; resuming with a different kind or dimension
// throws std::invalid_argument.
OptimizerSummary Optimize(const Problem& problem, const std::vector<double>& x0,
                          const OptimizerOptions& options,
                          const OptimizerCallbacks& callbacks = {},
                          const nlohmann::json* resume_state = nullptr);

// ---------------------------------------------------------------------------------------------
// For optimizer implementations (adam.cc, lbfgs.cc, cem.cc, random_search.cc): the bookkeeping
// every optimizer shares. Callers use Optimize.

// One optimization in progress: counted, bounds-checked evaluations, best tracking, records,
// resumable state and callbacks.
class OptimizerRun {
 public:
  OptimizerRun(const Problem& problem, const std::vector<double>& x0,
               const OptimizerOptions& options, const OptimizerCallbacks& callbacks,
               const nlohmann::json* resume_state);
  ~OptimizerRun();
  OptimizerRun(const OptimizerRun&) = delete;
  OptimizerRun& operator=(const OptimizerRun&) = delete;

  const Problem& problem() const { return problem_; }
  const OptimizerOptions& options() const { return options_; }
  int dimension() const { return static_cast<int>(lower_.size()); }
  const std::vector<double>& lower() const { return lower_; }
  const std::vector<double>& upper() const { return upper_; }
  const std::vector<double>& x0() const { return x0_; }  // clamped into the bounds
  // The iteration the optimizer runs next; 0 unless resuming.
  int next_iteration() const { return next_iteration_; }
  bool done() const { return stopped_ || next_iteration_ >= options_.iterations; }
  // The "algorithm" object of the resume state; null when not resuming.
  const nlohmann::json& resume_algorithm_state() const { return resume_algorithm_state_; }
  const std::vector<double>& best_x() const { return best_x_; }
  double best_value() const { return best_value_; }

  // Counted evaluations. x must be finite and within the bounds: anything else is a bug in the
  // optimizer and throws std::logic_error before the problem sees it.
  double Value(const std::vector<double>& x);
  double ValueAndGradient(const std::vector<double>& x, std::vector<double>* gradient);
  // Problem::Value at every point, in parallel (a task arena of options.threads), returned in
  // the order of xs; the result does not depend on the number of threads.
  std::vector<double> ValuePopulation(const std::vector<std::vector<double>>& xs);

  // Best tracking: a finite value lower than the best so far replaces it.
  void Offer(const std::vector<double>& x, double value);
  // The value at the first evaluated point; ignored after the first call and when resuming.
  void SetInitialValue(double value);
  // Completes iteration next_iteration(): stores the record, builds the state (with
  // `algorithm_state` as its "algorithm"), calls on_iteration and advances next_iteration().
  // Returns false when the optimizer must stop (the callback asked to).
  bool EndIteration(double value, const std::vector<double>& x, nlohmann::json algorithm_state);
  // Sets why the optimizer stopped (when it is not max iterations or the callback).
  void SetTermination(OptimizerTermination type, std::string message);
  OptimizerSummary Finish();

 private:
  void CheckInBounds(const std::vector<double>& x) const;
  double SecondsSoFar() const;
  nlohmann::json State(const nlohmann::json& algorithm_state) const;

  const Problem& problem_;
  OptimizerOptions options_;
  OptimizerCallbacks callbacks_;
  std::vector<double> lower_, upper_, x0_;
  struct Parallel;                    // the TBB task arena, created on first use
  std::unique_ptr<Parallel> parallel_;
  int first_iteration_ = 0;
  int next_iteration_ = 0;
  bool resumed_ = false;
  bool stopped_ = false;
  bool has_initial_value_ = false;
  double initial_value_ = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> best_x_;
  double best_value_ = std::numeric_limits<double>::infinity();
  std::int64_t evaluations_ = 0;
  std::int64_t gradient_evaluations_ = 0;
  double previous_seconds_ = 0.0;  // from the resume state
  double start_time_ = 0.0;        // steady clock, seconds
  nlohmann::json resume_algorithm_state_;
  std::vector<IterationRecord> records_;
  nlohmann::json last_state_;
  bool has_termination_ = false;
  OptimizerTermination termination_type_ = OptimizerTermination::kMaxIterations;
  std::string termination_;
};

// One optimization algorithm. Run performs iterations run->next_iteration() ... until
// run->done(), calling run->EndIteration after each.
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual OptimizerKind kind() const = 0;
  virtual bool NeedsGradient() const = 0;
  virtual void Run(OptimizerRun* run) const = 0;
};
std::unique_ptr<Optimizer> MakeOptimizer(OptimizerKind kind);

// Randomness for population methods: iteration i of a run with seed s draws from
// IterationGenerator(s, i), so no generator state needs saving and resumes reproduce exactly.
std::mt19937_64 IterationGenerator(std::uint64_t seed, int iteration);
double UniformDouble(std::mt19937_64& generator);  // in [0, 1), 53 random bits

// Lossless JSON for doubles: finite values as numbers, others as "nan", "inf", "-inf".
nlohmann::json DoubleToJson(double value);
double DoubleFromJson(const nlohmann::json& json);  // throws std::invalid_argument
nlohmann::json DoublesToJson(const std::vector<double>& values);
std::vector<double> DoublesFromJson(const nlohmann::json& json);  // throws std::invalid_argument
// A resume state's algorithm.NAME: exactly `size` finite numbers, else std::invalid_argument.
std::vector<double> SizedDoubles(const nlohmann::json& json, size_t size, const char* name);

}  // namespace flowdesign::design
