// The optimizers on small analytic problems: progress, bounds, determinism across thread
// counts, exact resume, non-finite evaluations, option validation and early stopping.
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "design/bounded_transform.h"
#include "design/optimizer.h"
#include "design/problem.h"

namespace flowdesign::design {
namespace {

using Catch::Matchers::Message;
using nlohmann::json;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

const OptimizerKind kAllKinds[] = {OptimizerKind::kAdam, OptimizerKind::kLbfgs,
                                   OptimizerKind::kCem, OptimizerKind::kRandom};

// sum_i w_i (x_i - c_i)^2 over a box.
class QuadraticProblem : public Problem {
 public:
  QuadraticProblem(std::vector<double> lower, std::vector<double> upper,
                   std::vector<double> center, std::vector<double> weights = {})
      : lower_(std::move(lower)), upper_(std::move(upper)), center_(std::move(center)),
        weights_(std::move(weights)) {
    if (weights_.empty()) weights_.assign(center_.size(), 1.0);
  }
  int Dimension() const override { return static_cast<int>(center_.size()); }
  const std::vector<double>& LowerBounds() const override { return lower_; }
  const std::vector<double>& UpperBounds() const override { return upper_; }
  double Value(const std::vector<double>& x) const override {
    double value = 0.0;
    for (size_t i = 0; i < x.size(); ++i) {
      value += weights_[i] * (x[i] - center_[i]) * (x[i] - center_[i]);
    }
    return value;
  }
  double ValueAndGradient(const std::vector<double>& x,
                          std::vector<double>* gradient) const override {
    gradient->resize(x.size());
    for (size_t i = 0; i < x.size(); ++i) (*gradient)[i] = 2.0 * weights_[i] * (x[i] - center_[i]);
    return Value(x);
  }

 private:
  std::vector<double> lower_, upper_, center_, weights_;
};

// A quadratic whose design moves by the largest change of a coordinate (for max_step).
class MovingQuadraticProblem : public QuadraticProblem {
 public:
  using QuadraticProblem::QuadraticProblem;
  double Displacement(const std::vector<double>& from, const std::vector<double>& to) const override {
    double moved = 0.0;
    for (size_t i = 0; i < from.size(); ++i) moved = std::max(moved, std::abs(to[i] - from[i]));
    return moved;
  }
};

// A gradient that always points uphill (as a rollout gradient can once the flow turns chaotic):
// value x^2 from x = 0, reported gradient -1. Every step makes things worse.
class UphillGradientProblem : public MovingQuadraticProblem {
 public:
  UphillGradientProblem() : MovingQuadraticProblem({-1.0}, {1.0}, {0.0}) {}
  double ValueAndGradient(const std::vector<double>& x, std::vector<double>* gradient) const override {
    *gradient = {-1.0};
    return Value(x);
  }
};

// (1 - a)^2 + 100 (b - a^2)^2 on [-2, 2] x [-1, 3]; minimum 0 at (1, 1).
class RosenbrockProblem : public Problem {
 public:
  int Dimension() const override { return 2; }
  const std::vector<double>& LowerBounds() const override { return lower_; }
  const std::vector<double>& UpperBounds() const override { return upper_; }
  double Value(const std::vector<double>& x) const override {
    const double a = x[0], b = x[1];
    return (1 - a) * (1 - a) + 100 * (b - a * a) * (b - a * a);
  }
  double ValueAndGradient(const std::vector<double>& x,
                          std::vector<double>* gradient) const override {
    const double a = x[0], b = x[1];
    gradient->assign({-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)});
    return Value(x);
  }

 private:
  std::vector<double> lower_{-2.0, -1.0};
  std::vector<double> upper_{2.0, 3.0};
};

// Forwards to another problem and remembers every point it is asked about (thread-safe).
class RecordingProblem : public Problem {
 public:
  explicit RecordingProblem(const Problem& inner) : inner_(inner) {}
  int Dimension() const override { return inner_.Dimension(); }
  const std::vector<double>& LowerBounds() const override { return inner_.LowerBounds(); }
  const std::vector<double>& UpperBounds() const override { return inner_.UpperBounds(); }
  double Value(const std::vector<double>& x) const override {
    Remember(x);
    return inner_.Value(x);
  }
  double ValueAndGradient(const std::vector<double>& x,
                          std::vector<double>* gradient) const override {
    Remember(x);
    return inner_.ValueAndGradient(x, gradient);
  }
  bool HasGradient() const override { return inner_.HasGradient(); }

  std::vector<std::vector<double>> Seen() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_;
  }
  // Every point seen was finite and within the bounds.
  bool AllWithinBounds() const {
    const std::vector<double>& lower = LowerBounds();
    const std::vector<double>& upper = UpperBounds();
    for (const std::vector<double>& x : Seen()) {
      if (x.size() != lower.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!std::isfinite(x[i]) || x[i] < lower[i] || x[i] > upper[i]) return false;
      }
    }
    return true;
  }

 private:
  void Remember(const std::vector<double>& x) const {
    std::lock_guard<std::mutex> lock(mutex_);
    seen_.push_back(x);
  }
  const Problem& inner_;
  mutable std::mutex mutex_;
  mutable std::vector<std::vector<double>> seen_;
};

// A quadratic with its minimum at 0.9 in every coordinate that is not finite where x[0] > 0.6:
// the value is NaN there (mode kValue) or only the gradient is +inf (mode kGradient).
class NanRegionProblem : public Problem {
 public:
  enum class Mode { kValue, kGradient };
  explicit NanRegionProblem(Mode mode) : mode_(mode) {}
  int Dimension() const override { return 2; }
  const std::vector<double>& LowerBounds() const override { return lower_; }
  const std::vector<double>& UpperBounds() const override { return upper_; }
  double Value(const std::vector<double>& x) const override {
    if (x[0] > 0.6 && mode_ == Mode::kValue) {
      ++non_finite_;
      return kNaN;
    }
    return (x[0] - 0.9) * (x[0] - 0.9) + (x[1] - 0.9) * (x[1] - 0.9);
  }
  double ValueAndGradient(const std::vector<double>& x,
                          std::vector<double>* gradient) const override {
    gradient->assign({2 * (x[0] - 0.9), 2 * (x[1] - 0.9)});
    if (x[0] > 0.6 && mode_ == Mode::kGradient) {
      ++non_finite_;
      (*gradient)[1] = kInf;
    }
    return Value(x);
  }
  int non_finite() const { return non_finite_; }

 private:
  Mode mode_;
  std::vector<double> lower_{0.0, 0.0};
  std::vector<double> upper_{1.0, 1.0};
  mutable std::atomic<int> non_finite_{0};
};

// A problem that offers no gradient.
class ValueOnlyProblem : public QuadraticProblem {
 public:
  ValueOnlyProblem() : QuadraticProblem({0.0}, {1.0}, {0.5}) {}
  bool HasGradient() const override { return false; }
};

bool SameBits(double a, double b) {
  std::uint64_t ia = 0, ib = 0;
  std::memcpy(&ia, &a, sizeof(a));
  std::memcpy(&ib, &b, sizeof(b));
  return ia == ib;
}

bool SameBits(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!SameBits(a[i], b[i])) return false;
  }
  return true;
}

// Value, best value, x, best x and evaluation counts agree bit for bit (not the time).
void RequireSameRecord(const IterationRecord& a, const IterationRecord& b) {
  INFO("iteration " << a.iteration << " vs " << b.iteration);
  REQUIRE(a.iteration == b.iteration);
  REQUIRE(SameBits(a.value, b.value));
  REQUIRE(SameBits(a.best_value, b.best_value));
  REQUIRE(SameBits(a.x, b.x));
  REQUIRE(SameBits(a.best_x, b.best_x));
  REQUIRE(a.evaluations == b.evaluations);
  REQUIRE(a.gradient_evaluations == b.gradient_evaluations);
}

void RequireSameRecords(const std::vector<IterationRecord>& a,
                        const std::vector<IterationRecord>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) RequireSameRecord(a[i], b[i]);
}

OptimizerOptions Options(OptimizerKind kind, int iterations) {
  OptimizerOptions options;
  options.kind = kind;
  options.iterations = iterations;
  options.seed = 12345;
  return options;
}

// ---------------------------------------------------------------------------------------------

TEST_CASE("BoundedTransform maps any z into the bounds and inverts inside them",
          "[optimizer]") {
  const BoundedTransform transform({-1.0, 0.0, 2.0}, {3.0, 1e-3, 2.0});
  REQUIRE(transform.Dimension() == 3);
  REQUIRE(transform.IsFixed(2));

  // Round trip inside the bounds.
  const std::vector<double> x = {0.7, 2.5e-4, 2.0};
  const std::vector<double> back = transform.XFromZ(transform.ZFromX(x));
  REQUIRE(back[0] == Approx(0.7).epsilon(1e-12));
  REQUIRE(back[1] == Approx(2.5e-4).epsilon(1e-12));
  REQUIRE(back[2] == 2.0);

  // Points on (or beyond) a bound give a finite z just inside.
  const std::vector<double> z_edge = transform.ZFromX({-1.0, 5.0, 2.0});
  for (double z : z_edge) REQUIRE(std::isfinite(z));
  const std::vector<double> x_edge = transform.XFromZ(z_edge);
  REQUIRE(x_edge[0] > -1.0);
  REQUIRE(x_edge[0] < -1.0 + 1e-3);
  REQUIRE(x_edge[1] < 1e-3);
  REQUIRE(x_edge[1] > 1e-3 * (1 - 1e-3));

  // Extreme z lands on the bounds, never beyond them.
  for (double z : {-kInf, -1e300, -40.0, 40.0, 1e300, kInf}) {
    const std::vector<double> xz = transform.XFromZ({z, z, z});
    REQUIRE(xz[0] >= -1.0);
    REQUIRE(xz[0] <= 3.0);
    REQUIRE(xz[1] >= 0.0);
    REQUIRE(xz[1] <= 1e-3);
    REQUIRE(xz[2] == 2.0);
  }
  REQUIRE(transform.XFromZ({40.0, 40.0, 0.0})[0] == 3.0);

  // Chain rule against central differences of x(z).
  const std::vector<double> z = {0.3, -1.2, 0.7};
  const std::vector<double> gradient_x = {1.5, -2.0, 4.0};
  const std::vector<double> gradient_z = transform.GradientZFromX(z, gradient_x);
  REQUIRE(gradient_z[2] == 0.0);  // fixed parameter
  for (int i = 0; i < 2; ++i) {
    const double h = 1e-6;
    std::vector<double> plus = z, minus = z;
    plus[i] += h;
    minus[i] -= h;
    const double dx_dz = (transform.XFromZ(plus)[i] - transform.XFromZ(minus)[i]) / (2 * h);
    REQUIRE(gradient_z[i] == Approx(gradient_x[i] * dx_dz).epsilon(1e-6));
  }

  REQUIRE_THROWS_MATCHES(BoundedTransform({1.0}, {0.0}), std::invalid_argument,
                         Message("bounds[0]: must be finite with lower <= upper (got [1, 0])"));
  REQUIRE_THROWS_AS(BoundedTransform({0.0}, {kInf}), std::invalid_argument);
  REQUIRE_THROWS_AS(BoundedTransform({0.0, 1.0}, {1.0}), std::invalid_argument);
}

TEST_CASE("Optimizer names round-trip and unknown names are rejected", "[optimizer]") {
  for (OptimizerKind kind : kAllKinds) {
    REQUIRE(ParseOptimizerKind(tasks::OptimizerKindName(kind)) == kind);
  }
  REQUIRE_THROWS_MATCHES(
      ParseOptimizerKind("foo"), std::invalid_argument,
      Message("unknown optimizer 'foo' (expected adam, lbfgs, cem or random)"));

  OptimizerOptions options = Options(OptimizerKind::kCem, 7);
  options.population = 5;
  options.elite_fraction = 0.4;
  options.seed = 18446744073709551615ULL;
  options.backtrack = true;
  const OptimizerOptions back = OptionsFromJson(json::parse(OptionsToJson(options).dump()));
  REQUIRE(back.kind == OptimizerKind::kCem);
  REQUIRE(back.iterations == 7);
  REQUIRE(back.population == 5);
  REQUIRE(back.elite_fraction == 0.4);
  REQUIRE(back.seed == options.seed);
  REQUIRE(back.backtrack);
  REQUIRE(OptionsToJson(back) == OptionsToJson(options));
  REQUIRE(OptionsFromJson(json{{"name", "lbfgs"}}).kind == OptimizerKind::kLbfgs);
  REQUIRE_THROWS_MATCHES(OptionsFromJson(json{{"name", "foo"}}), std::invalid_argument,
                         Message("unknown optimizer 'foo' (expected adam, lbfgs, cem or random)"));
  REQUIRE_THROWS_MATCHES(OptionsFromJson(json{{"populaton", 3}}), std::invalid_argument,
                         Message("optimizer.populaton: unknown field"));
  REQUIRE_THROWS_MATCHES(OptionsFromJson(json{{"population", 1}}), std::invalid_argument,
                         Message("optimizer.population: must be >= 2 (got 1)"));
  REQUIRE_THROWS_MATCHES(OptionsFromJson(json{{"backtrack", "yes"}}), std::invalid_argument,
                         Message("optimizer.backtrack: must be true or false (got \"yes\")"));

  tasks::OptimizerSettings settings;
  settings.kind = OptimizerKind::kRandom;
  settings.population = 9;
  const OptimizerOptions from_task = OptionsFromSettings(settings, 77);
  REQUIRE(from_task.kind == OptimizerKind::kRandom);
  REQUIRE(from_task.population == 9);
  REQUIRE(from_task.seed == 77);
}

TEST_CASE("Invalid options are reported with field, rule and value", "[optimizer]") {
  const QuadraticProblem problem({0.0}, {1.0}, {0.5});
  const auto check = [&](const OptimizerOptions& options, const std::string& message) {
    REQUIRE(Validate(options) == message);
    REQUIRE_THROWS_MATCHES(Optimize(problem, {0.2}, options), std::invalid_argument,
                           Message(message));
  };
  REQUIRE(Validate(OptimizerOptions{}).empty());

  OptimizerOptions options = Options(OptimizerKind::kCem, 10);
  options.population = 1;
  check(options, "optimizer.population: must be >= 2 (got 1)");

  options = Options(OptimizerKind::kAdam, 0);
  check(options, "optimizer.iterations: must be >= 1 (got 0)");

  options = Options(OptimizerKind::kCem, 10);
  options.elite_fraction = 0.0;
  check(options, "optimizer.elite_fraction: must be in (0, 1] (got 0)");
  options.elite_fraction = 1.5;
  check(options, "optimizer.elite_fraction: must be in (0, 1] (got 1.5)");
  options.elite_fraction = 1.0;
  REQUIRE(Validate(options).empty());

  options = Options(OptimizerKind::kAdam, 10);
  options.learning_rate = -0.1;
  check(options, "optimizer.learning_rate: must be finite and > 0 (got -0.1)");
  options.learning_rate = 0.1;
  options.learning_rate_decay = 0.0;
  check(options, "optimizer.learning_rate_decay: must be in (0, 1] (got 0)");
  options.learning_rate_decay = 1.5;
  check(options, "optimizer.learning_rate_decay: must be in (0, 1] (got 1.5)");
  options.learning_rate_decay = 1.0;
  options.restart_patience = -1;
  check(options, "optimizer.restart_patience: must be >= 0 (got -1)");
  options.restart_patience = 0;
  options.max_step_m = -0.5;
  check(options, "optimizer.max_step: must be finite and >= 0 (got -0.5)");
  options.max_step_m = 0.0;
  options.max_step_adapt = 2.0;
  check(options, "optimizer.max_step_adapt: needs max_step > 0 (got 2)");
  options.max_step_m = 0.01;
  options.max_step_adapt = 0.5;
  check(options, "optimizer.max_step_adapt: must be finite and >= 1 (got 0.5)");
  options.max_step_adapt = 1.0;
  options.restart_draws = -1;
  check(options, "optimizer.restart_draws: must be >= 0 (got -1)");
  options.restart_draws = 4;
  check(options, "optimizer.restart_draws: needs restart_patience > 0 (got 4)");
  options.restart_patience = 2;
  options.restart_spread = 0.0;
  check(options, "optimizer.restart_spread: must be in (0, 1] (got 0)");
  options.restart_spread = 1.5;
  check(options, "optimizer.restart_spread: must be in (0, 1] (got 1.5)");
  options.restart_spread = 0.3;
  REQUIRE(Validate(options).empty());

  options = Options(OptimizerKind::kCem, 10);
  options.min_std = 0.5;
  check(options, "optimizer.min_std: must be in [0, initial_std = 0.25] (got 0.5)");

  options = Options(OptimizerKind::kLbfgs, 10);
  options.lbfgs_memory = 0;
  check(options, "optimizer.lbfgs_memory: must be >= 1 (got 0)");

  options = Options(OptimizerKind::kRandom, 10);
  options.threads = -1;
  check(options, "optimizer.threads: must be >= 0 (got -1)");
}

TEST_CASE("Bad problems, starts and resume states are rejected", "[optimizer]") {
  const ValueOnlyProblem value_only;
  REQUIRE_THROWS_MATCHES(
      Optimize(value_only, {0.1}, Options(OptimizerKind::kAdam, 5)), std::invalid_argument,
      Message("optimizer 'adam' needs gradients, but the problem has none (use cem or random)"));
  REQUIRE(Optimize(value_only, {0.1}, Options(OptimizerKind::kCem, 5)).best_value < 0.25);

  const QuadraticProblem problem({0.0, 0.0}, {1.0, 1.0}, {0.5, 0.5});
  REQUIRE_THROWS_MATCHES(Optimize(problem, {0.1}, Options(OptimizerKind::kAdam, 5)),
                         std::invalid_argument,
                         Message("x0: has 1 entries but the problem has 2 parameters"));
  REQUIRE_THROWS_MATCHES(Optimize(problem, {0.1, kNaN}, Options(OptimizerKind::kAdam, 5)),
                         std::invalid_argument, Message("x0[1]: must be finite (got nan)"));

  const OptimizerSummary cem = Optimize(problem, {0.1, 0.1}, Options(OptimizerKind::kCem, 2));
  REQUIRE_THROWS_MATCHES(
      Optimize(problem, {0.1, 0.1}, Options(OptimizerKind::kAdam, 5), {}, &cem.final_state),
      std::invalid_argument,
      Message("resume state: saved by optimizer 'cem', cannot resume it with 'adam'"));
  const json not_a_state = {{"x", 1}};
  REQUIRE_THROWS_MATCHES(
      Optimize(problem, {0.1, 0.1}, Options(OptimizerKind::kCem, 5), {}, &not_a_state),
      std::invalid_argument,
      Message("resume state: not an optimizer state (expected \"format\": "
              "\"flowdesign.optimizer_state\")"));
  const QuadraticProblem other({0.0}, {1.0}, {0.5});
  REQUIRE_THROWS_MATCHES(
      Optimize(other, {0.1}, Options(OptimizerKind::kCem, 5), {}, &cem.final_state),
      std::invalid_argument,
      Message("resume state: has 2 parameters but the problem has 1"));
}

TEST_CASE("Every optimizer improves the bounded Rosenbrock function", "[optimizer]") {
  const RosenbrockProblem problem;
  const std::vector<double> x0 = {-1.2, 1.0};
  for (OptimizerKind kind : kAllKinds) {
    INFO(tasks::OptimizerKindName(kind));
    OptimizerOptions options = Options(kind, kind == OptimizerKind::kAdam ? 300 : 40);
    const OptimizerSummary summary = Optimize(problem, x0, options);
    INFO(summary.FullReport());
    REQUIRE(summary.initial_value == Approx(24.2).epsilon(1e-3));
    REQUIRE(summary.best_value < 0.25 * summary.initial_value);
    REQUIRE(summary.best_value == problem.Value(summary.best_x));
    REQUIRE(summary.best_value == summary.records.back().best_value);
    REQUIRE(SameBits(summary.best_x, summary.records.back().best_x));
    REQUIRE(summary.termination_type != OptimizerTermination::kFailure);
    REQUIRE(summary.iterations == static_cast<int>(summary.records.size()));
    REQUIRE(summary.evaluations >= summary.iterations);
    // Best values never get worse and counts never go down.
    for (size_t i = 1; i < summary.records.size(); ++i) {
      REQUIRE(summary.records[i].iteration == static_cast<int>(i));
      REQUIRE(summary.records[i].best_value <= summary.records[i - 1].best_value);
      REQUIRE(summary.records[i].evaluations > summary.records[i - 1].evaluations);
    }
    // Adam / L-BFGS: x is the iteration's point; random search: its best sample.
    if (kind != OptimizerKind::kCem) {
      for (const IterationRecord& record : summary.records) {
        REQUIRE(problem.Value(record.x) == record.value);
      }
    } else {
      REQUIRE(summary.records[0].x == x0);  // the first mean
    }
    if (kind == OptimizerKind::kCem || kind == OptimizerKind::kRandom) {
      REQUIRE(summary.evaluations == 40 * options.population);
      REQUIRE(summary.gradient_evaluations == 0);
      REQUIRE(summary.termination == "reached max iterations");
    }
    if (kind == OptimizerKind::kAdam) {
      REQUIRE(summary.gradient_evaluations == 300);
      REQUIRE(summary.evaluations == 300);
    }
    const std::string brief = summary.BriefReport();
    REQUIRE(brief.find(tasks::OptimizerKindName(kind)) == 0);
    REQUIRE(brief.find('\n') == std::string::npos);
    REQUIRE(brief.find(summary.termination) != std::string::npos);
    REQUIRE(summary.FullReport().find("Best value") != std::string::npos);
  }
}

TEST_CASE("Adam and L-BFGS reach the optimum of a convex quadratic inside the bounds",
          "[optimizer]") {
  const QuadraticProblem problem({-1.0, -1.0, -1.0}, {2.0, 2.0, 2.0}, {0.3, -0.5, 1.2},
                                 {1.0, 2.0, 0.5});
  const std::vector<double> x0 = {1.5, 1.5, -0.5};
  for (OptimizerKind kind : {OptimizerKind::kAdam, OptimizerKind::kLbfgs}) {
    INFO(tasks::OptimizerKindName(kind));
    const OptimizerSummary summary = Optimize(problem, x0, Options(kind, 500));
    INFO(summary.FullReport());
    const double tolerance = kind == OptimizerKind::kAdam ? 1e-3 : 1e-5;
    REQUIRE(summary.best_x[0] == Approx(0.3).margin(tolerance));
    REQUIRE(summary.best_x[1] == Approx(-0.5).margin(tolerance));
    REQUIRE(summary.best_x[2] == Approx(1.2).margin(tolerance));
    if (kind == OptimizerKind::kLbfgs) {
      REQUIRE(summary.termination_type == OptimizerTermination::kConverged);
      REQUIRE(summary.termination.rfind("converged (Ceres: ", 0) == 0);
      REQUIRE(summary.iterations < 500);
      // The converged iteration is recorded too: the last record holds the final point.
      REQUIRE(summary.records.back().value == Approx(summary.best_value).margin(1e-12));
    }
  }
  // CEM gets close as well.
  const OptimizerSummary cem = Optimize(problem, x0, Options(OptimizerKind::kCem, 60));
  REQUIRE(cem.best_value < 1e-3);
}

TEST_CASE("With the optimum outside the bounds, Adam and L-BFGS end at the bound",
          "[optimizer]") {
  const QuadraticProblem problem({-1.0, -1.0, -1.0}, {2.0, 2.0, 2.0}, {3.0, -0.5, -4.0});
  for (OptimizerKind kind : {OptimizerKind::kAdam, OptimizerKind::kLbfgs}) {
    INFO(tasks::OptimizerKindName(kind));
    const OptimizerSummary summary = Optimize(problem, {0.0, 0.0, 0.0}, Options(kind, 500));
    INFO(summary.FullReport());
    // Near a bound tanh saturates and the z-gradient fades, so Adam (whose second moment
    // remembers the larger gradients of the way there) only creeps towards the bound: within 1%
    // of the range after 500 iterations. L-BFGS gets within 0.03%.
    const double tolerance = 3.0 * (kind == OptimizerKind::kAdam ? 1e-2 : 3e-4);
    REQUIRE(summary.best_x[0] <= 2.0);
    REQUIRE(summary.best_x[0] > 2.0 - tolerance);
    REQUIRE(summary.best_x[1] == Approx(-0.5).margin(1e-3));
    REQUIRE(summary.best_x[2] >= -1.0);
    REQUIRE(summary.best_x[2] < -1.0 + tolerance);
    REQUIRE(summary.best_value == Approx(1.0 + 9.0).margin(10 * tolerance));
  }
}

TEST_CASE("No optimizer ever evaluates outside the bounds", "[optimizer]") {
  // Optimum far outside on two sides, a fixed parameter, and a start on a bound.
  const QuadraticProblem inner({-1.0, 0.5, 0.0}, {2.0, 0.5, 1.0}, {5.0, 0.0, -3.0});
  for (OptimizerKind kind : kAllKinds) {
    INFO(tasks::OptimizerKindName(kind));
    const RecordingProblem problem(inner);
    OptimizerOptions options = Options(kind, 60);
    options.learning_rate = 0.5;  // large Adam steps
    options.initial_std = 2.0;    // CEM samples far beyond the box before clipping
    const OptimizerSummary summary = Optimize(problem, {2.0, 0.5, 0.0}, options);
    INFO(summary.FullReport());
    const std::vector<std::vector<double>> seen = problem.Seen();
    REQUIRE(static_cast<std::int64_t>(seen.size()) == summary.evaluations);
    REQUIRE(problem.AllWithinBounds());
    for (const std::vector<double>& x : seen) REQUIRE(x[1] == 0.5);
    REQUIRE(summary.best_x[0] > 2.0 - 0.05);
    REQUIRE(summary.best_x[2] < 0.05);
  }
  // A start outside the bounds is clamped into them.
  const RecordingProblem problem(inner);
  const OptimizerSummary random =
      Optimize(problem, {9.0, 7.0, -4.0}, [] {
        OptimizerOptions o = Options(OptimizerKind::kRandom, 3);
        o.threads = 1;  // so the first point seen is the first sample
        return o;
      }());
  REQUIRE(problem.AllWithinBounds());
  REQUIRE(problem.Seen()[0] == std::vector<double>{2.0, 0.5, 0.0});
  REQUIRE(random.records[0].best_value <= random.initial_value);
}

TEST_CASE("CEM and random search are deterministic and independent of the thread count",
          "[optimizer]") {
  const RosenbrockProblem problem;
  for (OptimizerKind kind : {OptimizerKind::kCem, OptimizerKind::kRandom}) {
    INFO(tasks::OptimizerKindName(kind));
    OptimizerOptions options = Options(kind, 15);
    options.population = 24;
    options.threads = 1;
    const OptimizerSummary one = Optimize(problem, {-1.2, 1.0}, options);
    options.threads = 2;
    const OptimizerSummary two = Optimize(problem, {-1.2, 1.0}, options);
    const OptimizerSummary again = Optimize(problem, {-1.2, 1.0}, options);
    options.threads = 0;
    const OptimizerSummary all = Optimize(problem, {-1.2, 1.0}, options);
    RequireSameRecords(one.records, two.records);
    RequireSameRecords(two.records, again.records);
    RequireSameRecords(one.records, all.records);
    REQUIRE(SameBits(one.best_x, two.best_x));
    REQUIRE(one.final_state["algorithm"] == two.final_state["algorithm"]);

    options.seed = 999;
    const OptimizerSummary other_seed = Optimize(problem, {-1.2, 1.0}, options);
    REQUIRE_FALSE(SameBits(other_seed.records.back().x, one.records.back().x));
    // The first sample is x0 whatever the seed.
    REQUIRE(one.initial_value == problem.Value({-1.2, 1.0}));
    REQUIRE(other_seed.initial_value == one.initial_value);
  }
}

TEST_CASE("Resuming from a saved state reproduces the uninterrupted run exactly",
          "[optimizer]") {
  const RosenbrockProblem problem;
  const std::vector<double> x0 = {-1.2, 1.0};
  for (OptimizerKind kind : {OptimizerKind::kAdam, OptimizerKind::kCem, OptimizerKind::kRandom}) {
    INFO(tasks::OptimizerKindName(kind));
    OptimizerOptions options = Options(kind, 10);
    options.population = 8;
    const OptimizerSummary straight = Optimize(problem, x0, options);
    REQUIRE(straight.records.size() == 10);

    // Interrupted after iteration 3; the state goes through text like a file would.
    std::string saved;
    OptimizerCallbacks callbacks;
    callbacks.on_iteration = [&](const IterationRecord& record, const json& state) {
      saved = state.dump();
      return record.iteration < 3;
    };
    const OptimizerSummary first = Optimize(problem, x0, options, callbacks);
    REQUIRE(first.iterations == 4);
    REQUIRE(first.termination_type == OptimizerTermination::kStoppedByCallback);
    REQUIRE(first.final_state.dump() == saved);

    const json state = json::parse(saved);
    REQUIRE(state["next_iteration"] == 4);
    const OptimizerSummary rest = Optimize(problem, x0, options, {}, &state);
    REQUIRE(rest.first_iteration == 4);
    REQUIRE(rest.iterations == 10);
    REQUIRE(rest.records.size() == 6);
    REQUIRE(rest.termination == "reached max iterations");

    std::vector<IterationRecord> joined = first.records;
    joined.insert(joined.end(), rest.records.begin(), rest.records.end());
    RequireSameRecords(joined, straight.records);
    REQUIRE(SameBits(rest.best_x, straight.best_x));
    REQUIRE(SameBits(rest.best_value, straight.best_value));
    REQUIRE(SameBits(rest.initial_value, straight.initial_value));
    REQUIRE(rest.evaluations == straight.evaluations);
    REQUIRE(rest.gradient_evaluations == straight.gradient_evaluations);
    REQUIRE(rest.final_state["algorithm"] == straight.final_state["algorithm"]);

    // A finished state can be extended with more iterations.
    options.iterations = 12;
    const OptimizerSummary longer = Optimize(problem, x0, options, {}, &straight.final_state);
    REQUIRE(longer.first_iteration == 10);
    REQUIRE(longer.records.size() == 2);
    options.iterations = 10;
    const OptimizerSummary nothing_left =
        Optimize(problem, x0, options, {}, &straight.final_state);
    REQUIRE(nothing_left.records.empty());
    REQUIRE(nothing_left.iterations == 10);
    REQUIRE(SameBits(nothing_left.best_x, straight.best_x));
  }
}

TEST_CASE("A resumed L-BFGS restarts from the best point with the remaining iterations",
          "[optimizer]") {
  const RosenbrockProblem inner;
  OptimizerOptions options = Options(OptimizerKind::kLbfgs, 30);
  json saved;
  OptimizerCallbacks callbacks;
  callbacks.on_iteration = [&](const IterationRecord& record, const json& state) {
    saved = state;
    return record.iteration < 3;
  };
  const OptimizerSummary first = Optimize(inner, {-1.2, 1.0}, options, callbacks);
  REQUIRE(first.iterations == 4);
  REQUIRE(first.termination == "stopped by callback");

  const RecordingProblem problem(inner);
  const OptimizerSummary rest = Optimize(problem, {-1.2, 1.0}, options, {}, &saved);
  REQUIRE(rest.first_iteration == 4);
  REQUIRE_FALSE(rest.records.empty());
  REQUIRE(rest.records.front().iteration == 4);
  REQUIRE(rest.iterations <= 30);
  const std::vector<double> start = problem.Seen().front();
  REQUIRE(start[0] == Approx(first.best_x[0]).margin(1e-12));
  REQUIRE(start[1] == Approx(first.best_x[1]).margin(1e-12));
  REQUIRE(rest.best_value <= first.best_value);
  REQUIRE(rest.evaluations == first.evaluations + static_cast<std::int64_t>(problem.Seen().size()));
  REQUIRE(problem.AllWithinBounds());
}

TEST_CASE("L-BFGS backs off from non-finite values and gradients", "[optimizer]") {
  for (NanRegionProblem::Mode mode : {NanRegionProblem::Mode::kValue,
                                      NanRegionProblem::Mode::kGradient}) {
    const NanRegionProblem inner(mode);
    const RecordingProblem problem(inner);
    const OptimizerSummary summary =
        Optimize(problem, {0.1, 0.1}, Options(OptimizerKind::kLbfgs, 50));
    INFO(summary.FullReport());
    REQUIRE(inner.non_finite() > 0);  // the solve did step into the bad region
    REQUIRE(problem.AllWithinBounds());
    REQUIRE(std::isfinite(summary.best_value));
    REQUIRE(summary.best_value < summary.initial_value);
    // It stops at the edge of the bad region (the search direction stays diagonal).
    REQUIRE(summary.best_x[0] <= 0.6);
    REQUIRE(summary.best_x[0] > 0.55);
    for (const IterationRecord& record : summary.records) {
      REQUIRE(std::isfinite(record.value));
      REQUIRE(record.x[0] <= 0.6);
    }
  }
  // Non-finite at the start: a failure, reported rather than thrown.
  const NanRegionProblem inner(NanRegionProblem::Mode::kValue);
  const OptimizerSummary summary =
      Optimize(inner, {0.8, 0.1}, Options(OptimizerKind::kLbfgs, 10));
  REQUIRE(summary.termination_type == OptimizerTermination::kFailure);
  REQUIRE(summary.termination.rfind("failed (Ceres: ", 0) == 0);
  REQUIRE(summary.records.empty());
  REQUIRE(std::isnan(summary.initial_value));
  REQUIRE(summary.best_value == kInf);
  REQUIRE(summary.FullReport().find("failed") != std::string::npos);
  REQUIRE(OptimizerSummary{}.BriefReport().size() > 0);
}

TEST_CASE("Adam halves its step after a non-finite evaluation", "[optimizer]") {
  const NanRegionProblem inner(NanRegionProblem::Mode::kValue);
  const RecordingProblem problem(inner);
  OptimizerOptions options = Options(OptimizerKind::kAdam, 200);
  options.learning_rate = 0.2;
  const OptimizerSummary summary = Optimize(problem, {0.1, 0.1}, options);
  INFO(summary.FullReport());
  REQUIRE(inner.non_finite() > 0);
  REQUIRE(problem.AllWithinBounds());
  REQUIRE(summary.best_x[0] <= 0.6);
  REQUIRE(summary.best_x[0] > 0.5);
  REQUIRE(summary.best_value < summary.initial_value);
  REQUIRE(summary.termination == "reached max iterations");

  const OptimizerSummary at_nan = Optimize(inner, {0.9, 0.1}, Options(OptimizerKind::kAdam, 5));
  REQUIRE(at_nan.termination_type == OptimizerTermination::kFailure);
  REQUIRE(at_nan.records.size() == 1);
  REQUIRE(std::isnan(at_nan.records[0].value));
  // The state of that record serializes its NaN losslessly.
  REQUIRE(at_nan.final_state["best_value"] == "inf");
  REQUIRE(std::isnan(DoubleFromJson(at_nan.final_state["initial_value"])));
}

TEST_CASE("Adam's learning-rate decay bounds how far it travels", "[optimizer]") {
  // The optimum is far outside the box: every step has full size learning_rate * decay^k in z,
  // so with decay 0.5 z travels at most 2 * learning_rate in total, and x (range 2, z = 0 at
  // the middle) at most learning_rate * 2 / 2 * 2 = 0.2; without decay it travels much further.
  const QuadraticProblem problem({-1.0}, {1.0}, {50.0});
  OptimizerOptions options = Options(OptimizerKind::kAdam, 40);
  options.learning_rate = 0.1;
  options.learning_rate_decay = 0.5;
  const OptimizerSummary decayed = Optimize(problem, {0.0}, options);
  CHECK(decayed.best_x[0] > 0.15);
  CHECK(decayed.best_x[0] <= 0.2 + 1e-9);
  options.learning_rate_decay = 1.0;
  CHECK(Optimize(problem, {0.0}, options).best_x[0] > 0.9);
}

TEST_CASE("Adam with restart_patience returns to its best design with half the step", "[optimizer]") {
  const UphillGradientProblem problem;
  OptimizerOptions options = Options(OptimizerKind::kAdam, 12);
  options.learning_rate = 0.1;
  options.restart_patience = 3;
  const OptimizerSummary restarted = Optimize(problem, {0.0}, options);
  REQUIRE(restarted.records.size() == 12);
  // x = tanh(z) on [-1, 1]. Iteration 1 is one full step away; after 3 worse iterations the
  // run goes back to x = 0 and iteration 4 is half a step away; 3 more, and iteration 7 a quarter.
  CHECK(restarted.records[1].x[0] == Approx(std::tanh(0.1)).epsilon(1e-6));
  CHECK(restarted.records[4].x[0] == Approx(std::tanh(0.05)).epsilon(1e-6));
  CHECK(restarted.records[7].x[0] == Approx(std::tanh(0.025)).epsilon(1e-6));
  CHECK(restarted.best_x[0] == 0.0);
  options.restart_patience = 0;
  const OptimizerSummary plain = Optimize(problem, {0.0}, options);
  CHECK(plain.records[11].x[0] > plain.records[4].x[0]);
  CHECK(plain.records[4].x[0] > std::tanh(0.3));
}

TEST_CASE("Adam with max_step never moves the design farther than that in one step", "[optimizer]") {
  // A "chain" whose tip moves 3x farther than the root per unit of parameter (a lever arm): the
  // displacement is max(|dx0| + 3 |dx1|, ...), as for the joints of a tool.
  class LeverProblem : public QuadraticProblem {
   public:
    LeverProblem() : QuadraticProblem({-1.0, -1.0}, {1.0, 1.0}, {0.8, -0.6}) {}
    double Displacement(const std::vector<double>& from, const std::vector<double>& to) const override {
      return std::abs(to[0] - from[0]) + 3.0 * std::abs(to[1] - from[1]);
    }
  };
  const LeverProblem problem;
  OptimizerOptions options = Options(OptimizerKind::kAdam, 30);
  options.learning_rate = 0.2;
  options.max_step_m = 0.05;
  const OptimizerSummary limited = Optimize(problem, {0.0, 0.0}, options);
  double largest = 0.0;
  for (size_t k = 1; k < limited.records.size(); ++k) {
    largest = std::max(largest, problem.Displacement(limited.records[k - 1].x, limited.records[k].x));
  }
  CHECK(largest <= 0.05 * (1.0 + 1e-6));
  CHECK(largest > 0.045);  // shortened to the limit, not far below it
  CHECK(limited.best_value < problem.Value({0.0, 0.0}));  // still descending
  options.max_step_m = 0.0;
  const OptimizerSummary free = Optimize(problem, {0.0, 0.0}, options);
  CHECK(problem.Displacement(free.records[0].x, free.records[1].x) > 0.3);
}

TEST_CASE("Adam's restart halves max_step too, so it does not repeat the step that failed", "[optimizer]") {
  OptimizerOptions options = Options(OptimizerKind::kAdam, 6);
  options.learning_rate = 0.5;  // the limit binds
  options.max_step_m = 0.04;
  options.restart_patience = 2;
  const OptimizerSummary summary = Optimize(UphillGradientProblem(), {0.0}, options);
  REQUIRE(summary.records.size() == 6);
  CHECK(summary.records[1].x[0] == Approx(0.04).epsilon(1e-3));
  CHECK(summary.records[2].x[0] == Approx(0.08).epsilon(1e-3));
  // Two iterations without a new best: back to x = 0 with half the step.
  CHECK(summary.records[3].x[0] == Approx(0.02).epsilon(1e-3));
}

TEST_CASE("Adam with max_step_adapt widens the limit while steps pay off and narrows it when they do not",
          "[optimizer]") {
  // Far from the minimum the quadratic is nearly linear: every limited step delivers what its
  // gradient predicted, so the limit doubles up to max_step * adapt.
  const MovingQuadraticProblem far({-1.0}, {1.0}, {0.9});
  OptimizerOptions options = Options(OptimizerKind::kAdam, 12);
  options.learning_rate = 0.5;
  options.max_step_m = 0.01;
  options.max_step_adapt = 8.0;
  const auto step_lengths = [](const OptimizerSummary& summary) {
    std::vector<double> lengths;
    for (size_t k = 1; k < summary.records.size(); ++k) {
      lengths.push_back(std::abs(summary.records[k].x[0] - summary.records[k - 1].x[0]));
    }
    return lengths;
  };
  const OptimizerSummary adaptive = Optimize(far, {0.0}, options);
  const std::vector<double> grown = step_lengths(adaptive);
  CHECK(grown[0] == Approx(0.01).epsilon(0.01));
  CHECK(grown[1] == Approx(0.02).epsilon(0.01));
  CHECK(grown[2] == Approx(0.04).epsilon(0.01));
  CHECK(*std::max_element(grown.begin(), grown.end()) <= 0.08 * (1.0 + 1e-6));
  options.max_step_adapt = 1.0;
  const OptimizerSummary fixed = Optimize(far, {0.0}, options);
  for (double length : step_lengths(fixed)) CHECK(length <= 0.01 * (1.0 + 1e-6));
  CHECK(adaptive.best_value < 0.5 * fixed.best_value);

  // |x - 0.1| with a gradient that says "go right" everywhere: right while x < 0.1 (the limit
  // grows), wrong beyond (it halves back to max_step, never below).
  class KinkProblem : public UphillGradientProblem {
   public:
    double Value(const std::vector<double>& x) const override { return std::abs(x[0] - 0.1); }
  };
  options.max_step_adapt = 8.0;
  const std::vector<double> kinked = step_lengths(Optimize(KinkProblem(), {0.0}, options));
  const std::vector<double> expected = {0.01, 0.02, 0.04, 0.08, 0.04, 0.02, 0.01, 0.01};
  for (size_t k = 0; k < expected.size(); ++k) {
    INFO("step " << k);
    CHECK(kinked[k] == Approx(expected[k]).epsilon(0.02));
  }
}

// Runs Adam whole, and stopped after 12 iterations then resumed from its state (through text,
// like a file); requires the same result. Returns the whole run.
OptimizerSummary RequireAdamResumesExactly(const Problem& problem, const std::vector<double>& x0,
                                           const OptimizerOptions& options) {
  const OptimizerSummary whole = Optimize(problem, x0, options);
  OptimizerCallbacks stop_at_12;
  stop_at_12.on_iteration = [](const IterationRecord& record, const json&) { return record.iteration < 11; };
  const OptimizerSummary first = Optimize(problem, x0, options, stop_at_12);
  REQUIRE(first.iterations == 12);
  const json state = json::parse(first.final_state.dump());
  const OptimizerSummary rest = Optimize(problem, x0, options, {}, &state);
  REQUIRE(SameBits(rest.best_value, whole.best_value));
  REQUIRE(SameBits(rest.best_x, whole.best_x));
  REQUIRE(rest.final_state["algorithm"] == whole.final_state["algorithm"]);
  return whole;
}

// Two Gaussian wells on [0, 1]: a shallow one (-0.3) at 0.2 and a deep one (-1) at 0.8, too far
// apart for the gradient at one to see the other.
class TwoWellProblem : public Problem {
 public:
  int Dimension() const override { return 1; }
  const std::vector<double>& LowerBounds() const override { return lower_; }
  const std::vector<double>& UpperBounds() const override { return upper_; }
  double Value(const std::vector<double>& x) const override {
    std::vector<double> unused;
    return ValueAndGradient(x, &unused);
  }
  double ValueAndGradient(const std::vector<double>& x, std::vector<double>* gradient) const override {
    const double a = x[0] - 0.2, b = x[0] - 0.8, width2 = 0.005;
    const double shallow = -0.3 * std::exp(-a * a / width2), deep = -1.0 * std::exp(-b * b / width2);
    gradient->assign(1, shallow * (-2.0 * a / width2) + deep * (-2.0 * b / width2));
    return shallow + deep;
  }

 private:
  std::vector<double> lower_{0.0}, upper_{1.0};
};

TEST_CASE("Adam with restart_draws hops from a shallow basin to a deeper one", "[optimizer]") {
  const TwoWellProblem problem;
  OptimizerOptions options = Options(OptimizerKind::kAdam, 40);
  options.learning_rate = 0.05;
  options.restart_patience = 3;
  const OptimizerSummary stuck = Optimize(problem, {0.21}, options);
  CHECK(stuck.best_value > -0.31);
  CHECK(std::abs(stuck.best_x[0] - 0.2) < 0.02);

  options.restart_draws = 6;
  options.restart_spread = 0.8;
  const OptimizerSummary hopped = Optimize(problem, {0.21}, options);
  CHECK(hopped.best_value < -0.99);
  CHECK(std::abs(hopped.best_x[0] - 0.8) < 0.01);
  // Every draw is a counted evaluation without a gradient.
  CHECK(hopped.evaluations > hopped.gradient_evaluations);
  CHECK(hopped.gradient_evaluations == 40);
  // Draws that find nothing better leave the restart as it was: from the deep well the search
  // halves its step as without draws.
  const OptimizerSummary deep = Optimize(problem, {0.79}, options);
  CHECK(deep.final_state["algorithm"]["step_scale"].get<double>() < 1.0);
  CHECK(deep.best_value < -0.99);
  RequireAdamResumesExactly(problem, {0.21}, options);
}

TEST_CASE("Adam with backtrack halves a step that made things worse instead of walking on", "[optimizer]") {
  const UphillGradientProblem problem;
  OptimizerOptions options = Options(OptimizerKind::kAdam, 6);
  options.learning_rate = 0.1;
  options.backtrack = true;
  const OptimizerSummary halved = Optimize(problem, {0.0}, options);
  // x = tanh(z): the first step (z 0.1) is worse than x = 0, so each later point is half of the
  // previous step from 0: z = 0.05, 0.025, ...
  for (int k = 1; k < 6; ++k) {
    CHECK(halved.records[k].x[0] == Approx(std::tanh(0.1 / std::pow(2.0, k - 1))).epsilon(1e-6));
  }
  options.backtrack = false;
  CHECK(Optimize(problem, {0.0}, options).records[5].x[0] > std::tanh(0.3));

  // On Rosenbrock with a step too large for its valley, every point that is worse than the best
  // so far is followed by half of the step that led to it, from the best point.
  const RosenbrockProblem valley;
  const BoundedTransform transform(valley.LowerBounds(), valley.UpperBounds());
  options = Options(OptimizerKind::kAdam, 60);
  options.learning_rate = 0.3;
  options.backtrack = true;
  const OptimizerSummary summary = Optimize(valley, {-1.2, 1.0}, options);
  int rejected = 0;
  for (size_t k = 1; k + 1 < summary.records.size(); ++k) {
    if (!(summary.records[k].value > summary.records[k - 1].best_value)) continue;
    ++rejected;
    const std::vector<double> start = transform.ZFromX(summary.records[k - 1].best_x);
    const std::vector<double> worse = transform.ZFromX(summary.records[k].x);
    const std::vector<double> next = transform.ZFromX(summary.records[k + 1].x);
    for (size_t i = 0; i < 2; ++i) CHECK(next[i] - start[i] == Approx(0.5 * (worse[i] - start[i])).margin(1e-9));
  }
  CHECK(rejected > 0);
  CHECK(summary.best_value < 0.5 * summary.initial_value);
  options.restart_patience = 3;
  RequireAdamResumesExactly(valley, {-1.2, 1.0}, options);
}

TEST_CASE("Adam with max_step_adapt resumes exactly where it stopped", "[optimizer]") {
  const MovingQuadraticProblem problem({-2.0, -1.0}, {2.0, 3.0}, {1.0, 1.0}, {1.0, 30.0});
  OptimizerOptions options = Options(OptimizerKind::kAdam, 30);
  options.learning_rate = 0.3;
  options.max_step_m = 0.05;
  options.max_step_adapt = 4.0;
  options.restart_patience = 3;
  const OptimizerSummary whole = RequireAdamResumesExactly(problem, {-1.2, 1.0}, options);
  double longest = 0.0;  // it did adapt: some step went beyond max_step
  for (size_t k = 1; k < whole.records.size(); ++k) {
    longest = std::max(longest, problem.Displacement(whole.records[k - 1].x, whole.records[k].x));
  }
  CHECK(longest > 0.06);
}

TEST_CASE("Adam with restart_patience resumes exactly where it stopped", "[optimizer]") {
  const RosenbrockProblem problem;
  OptimizerOptions options = Options(OptimizerKind::kAdam, 30);
  options.learning_rate = 0.3;  // large enough to overshoot and restart
  options.restart_patience = 2;
  const OptimizerSummary whole = RequireAdamResumesExactly(problem, {-1.2, 1.0}, options);
  CHECK(whole.final_state["algorithm"]["step_scale"].get<double>() < 1.0);  // it did restart
}

TEST_CASE("The callback can stop every optimizer early", "[optimizer]") {
  const RosenbrockProblem problem;
  for (OptimizerKind kind : kAllKinds) {
    INFO(tasks::OptimizerKindName(kind));
    int calls = 0;
    OptimizerCallbacks callbacks;
    callbacks.on_iteration = [&](const IterationRecord& record, const json& state) {
      REQUIRE(record.iteration == calls);
      REQUIRE(state["next_iteration"] == calls + 1);
      REQUIRE(record.x.size() == 2);
      REQUIRE(record.seconds >= 0.0);
      ++calls;
      return calls < 3;
    };
    const OptimizerSummary summary = Optimize(problem, {-1.2, 1.0}, Options(kind, 50), callbacks);
    REQUIRE(calls == 3);
    REQUIRE(summary.iterations == 3);
    REQUIRE(summary.records.size() == 3);
    REQUIRE(summary.termination_type == OptimizerTermination::kStoppedByCallback);
    REQUIRE(summary.termination == "stopped by callback");
    REQUIRE(summary.final_state["next_iteration"] == 3);
  }
}

TEST_CASE("Exceptions from the problem and the callback propagate", "[optimizer]") {
  class ThrowingProblem : public QuadraticProblem {
   public:
    ThrowingProblem() : QuadraticProblem({0.0, 0.0}, {1.0, 1.0}, {0.5, 0.5}) {}
    double Value(const std::vector<double>& x) const override {
      if (x[0] > 0.3) throw std::runtime_error("simulator exploded");
      return QuadraticProblem::Value(x);
    }
  };
  const ThrowingProblem problem;
  for (OptimizerKind kind : kAllKinds) {
    INFO(tasks::OptimizerKindName(kind));
    REQUIRE_THROWS_MATCHES(Optimize(problem, {0.1, 0.1}, Options(kind, 50)), std::runtime_error,
                           Message("simulator exploded"));
    OptimizerCallbacks callbacks;
    callbacks.on_iteration = [](const IterationRecord&, const json&) -> bool {
      throw std::runtime_error("disk full");
    };
    const QuadraticProblem quadratic({0.0, 0.0}, {1.0, 1.0}, {0.5, 0.5});
    REQUIRE_THROWS_MATCHES(Optimize(quadratic, {0.1, 0.1}, Options(kind, 50), callbacks),
                           std::runtime_error, Message("disk full"));
  }
}

TEST_CASE("Records and doubles serialize losslessly", "[optimizer]") {
  for (double v : {0.1, -0.0, 1e-300, 5e-324, 1.0 / 3.0, 123456789.123456789, kInf, -kInf}) {
    REQUIRE(SameBits(DoubleFromJson(json::parse(DoubleToJson(v).dump())), v));
  }
  REQUIRE(std::isnan(DoubleFromJson(json::parse(DoubleToJson(kNaN).dump()))));
  REQUIRE_THROWS_AS(DoubleFromJson(json("bad")), std::invalid_argument);
  IterationRecord record;
  record.iteration = 2;
  record.value = kNaN;
  record.x = {0.1, 0.2};
  const json j = ToJson(record);
  REQUIRE(j["value"] == "nan");
  REQUIRE(j["best_value"] == "inf");
  REQUIRE(DoublesFromJson(j["x"]) == record.x);
}

}  // namespace
}  // namespace flowdesign::design
