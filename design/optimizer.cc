// Options, records, summaries, resumable state and the shared bookkeeping of every optimizer.
#include "design/optimizer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <utility>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "design/adam.h"
#include "design/cem.h"
#include "design/lbfgs.h"
#include "design/random_search.h"

namespace flowdesign::design {
namespace {

constexpr const char* kStateFormat = "flowdesign.optimizer_state";
constexpr int kStateVersion = 1;

// The shortest decimal form that reads back as the same double ("0.1", "1e-08", "nan").
std::string FormatNumber(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[64];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof(buffer), "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  return buffer;
}

std::string FormatVector(const std::vector<double>& values) {
  std::string text = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) text += ", ";
    text += FormatNumber(values[i]);
  }
  return text + "]";
}

std::string FieldError(const std::string& field, const std::string& rule,
                       const std::string& got) {
  return "optimizer." + field + ": " + rule + " (got " + got + ")";
}

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::uint64_t SplitMix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Options

OptimizerKind ParseOptimizerKind(const std::string& name) {
  for (OptimizerKind kind : {OptimizerKind::kAdam, OptimizerKind::kLbfgs, OptimizerKind::kCem,
                             OptimizerKind::kRandom}) {
    if (name == tasks::OptimizerKindName(kind)) return kind;
  }
  throw std::invalid_argument("unknown optimizer '" + name +
                              "' (expected adam, lbfgs, cem or random)");
}

std::string Validate(const OptimizerOptions& o) {
  const auto number = [](double v) { return FormatNumber(v); };
  const auto integer = [](std::int64_t v) { return std::to_string(v); };
  switch (o.kind) {
    case OptimizerKind::kAdam:
    case OptimizerKind::kLbfgs:
    case OptimizerKind::kCem:
    case OptimizerKind::kRandom:
      break;
    default:
      return FieldError("name", "must be adam, lbfgs, cem or random",
                        integer(static_cast<int>(o.kind)));
  }
  if (o.iterations < 1) return FieldError("iterations", "must be >= 1", integer(o.iterations));
  if (!(o.learning_rate > 0.0) || !std::isfinite(o.learning_rate)) {
    return FieldError("learning_rate", "must be finite and > 0", number(o.learning_rate));
  }
  if (!(o.learning_rate_decay > 0.0 && o.learning_rate_decay <= 1.0)) {
    return FieldError("learning_rate_decay", "must be in (0, 1]", number(o.learning_rate_decay));
  }
  if (o.restart_patience < 0) {
    return FieldError("restart_patience", "must be >= 0", integer(o.restart_patience));
  }
  if (!(o.max_step_m >= 0.0) || !std::isfinite(o.max_step_m)) {
    return FieldError("max_step", "must be finite and >= 0", number(o.max_step_m));
  }
  if (!(o.max_step_adapt >= 1.0) || !std::isfinite(o.max_step_adapt)) {
    return FieldError("max_step_adapt", "must be finite and >= 1", number(o.max_step_adapt));
  }
  if (o.max_step_adapt > 1.0 && !(o.max_step_m > 0.0)) {
    return FieldError("max_step_adapt", "needs max_step > 0", number(o.max_step_adapt));
  }
  if (o.restart_draws < 0) return FieldError("restart_draws", "must be >= 0", integer(o.restart_draws));
  if (o.restart_draws > 0 && o.restart_patience == 0) {
    return FieldError("restart_draws", "needs restart_patience > 0", integer(o.restart_draws));
  }
  if (!(o.restart_spread > 0.0 && o.restart_spread <= 1.0)) {
    return FieldError("restart_spread", "must be in (0, 1]", number(o.restart_spread));
  }
  if (!(o.adam_beta1 >= 0.0 && o.adam_beta1 < 1.0)) {
    return FieldError("adam_beta1", "must be in [0, 1)", number(o.adam_beta1));
  }
  if (!(o.adam_beta2 >= 0.0 && o.adam_beta2 < 1.0)) {
    return FieldError("adam_beta2", "must be in [0, 1)", number(o.adam_beta2));
  }
  if (!(o.adam_epsilon > 0.0) || !std::isfinite(o.adam_epsilon)) {
    return FieldError("adam_epsilon", "must be finite and > 0", number(o.adam_epsilon));
  }
  if (o.population < 2) return FieldError("population", "must be >= 2", integer(o.population));
  if (!(o.elite_fraction > 0.0 && o.elite_fraction <= 1.0)) {
    return FieldError("elite_fraction", "must be in (0, 1]", number(o.elite_fraction));
  }
  if (!(o.initial_std > 0.0) || !std::isfinite(o.initial_std)) {
    return FieldError("initial_std", "must be finite and > 0", number(o.initial_std));
  }
  if (!(o.min_std >= 0.0 && o.min_std <= o.initial_std)) {
    return FieldError("min_std", "must be in [0, initial_std = " + number(o.initial_std) + "]",
                      number(o.min_std));
  }
  if (!(o.std_smoothing >= 0.0 && o.std_smoothing < 1.0)) {
    return FieldError("std_smoothing", "must be in [0, 1)", number(o.std_smoothing));
  }
  if (o.lbfgs_memory < 1) {
    return FieldError("lbfgs_memory", "must be >= 1", integer(o.lbfgs_memory));
  }
  if (o.threads < 0) return FieldError("threads", "must be >= 0", integer(o.threads));
  return "";
}

void CheckValid(const OptimizerOptions& options) {
  const std::string error = Validate(options);
  if (!error.empty()) throw std::invalid_argument(error);
}

OptimizerOptions OptionsFromSettings(const tasks::OptimizerSettings& settings,
                                     std::uint64_t seed) {
  OptimizerOptions options;
  options.kind = settings.kind;
  options.iterations = settings.iterations;
  options.learning_rate = settings.learning_rate;
  options.learning_rate_decay = settings.learning_rate_decay;
  options.restart_patience = settings.restart_patience;
  options.max_step_m = settings.max_step_m;
  options.max_step_adapt = settings.max_step_adapt;
  options.restart_draws = settings.restart_draws;
  options.restart_spread = settings.restart_spread;
  options.backtrack = settings.backtrack;
  options.population = settings.population;
  options.elite_fraction = settings.elite_fraction;
  options.seed = seed;
  return options;
}

nlohmann::json OptionsToJson(const OptimizerOptions& o) {
  return {{"name", tasks::OptimizerKindName(o.kind)},
          {"iterations", o.iterations},
          {"learning_rate", o.learning_rate},
          {"learning_rate_decay", o.learning_rate_decay},
          {"restart_patience", o.restart_patience},
          {"max_step", o.max_step_m},
          {"max_step_adapt", o.max_step_adapt},
          {"restart_draws", o.restart_draws},
          {"restart_spread", o.restart_spread},
          {"backtrack", o.backtrack},
          {"adam_beta1", o.adam_beta1},
          {"adam_beta2", o.adam_beta2},
          {"adam_epsilon", o.adam_epsilon},
          {"population", o.population},
          {"elite_fraction", o.elite_fraction},
          {"initial_std", o.initial_std},
          {"min_std", o.min_std},
          {"std_smoothing", o.std_smoothing},
          {"lbfgs_memory", o.lbfgs_memory},
          {"seed", o.seed},
          {"threads", o.threads}};
}

OptimizerOptions OptionsFromJson(const nlohmann::json& json) {
  if (!json.is_object()) {
    throw std::invalid_argument("optimizer: must be an object (got " + json.dump() + ")");
  }
  OptimizerOptions o;
  const auto get_number = [](const std::string& key, const nlohmann::json& value) {
    if (!value.is_number()) throw std::invalid_argument(FieldError(key, "must be a number",
                                                                   value.dump()));
    return value.get<double>();
  };
  const auto get_integer = [](const std::string& key, const nlohmann::json& value) {
    if (!value.is_number_integer()) {
      throw std::invalid_argument(FieldError(key, "must be an integer", value.dump()));
    }
    const std::int64_t v = value.get<std::int64_t>();
    if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) {
      throw std::invalid_argument(FieldError(key, "is out of range", value.dump()));
    }
    return static_cast<int>(v);
  };
  for (const auto& [key, value] : json.items()) {
    if (key == "name") {
      if (!value.is_string()) {
        throw std::invalid_argument(FieldError(key, "must be a string", value.dump()));
      }
      o.kind = ParseOptimizerKind(value.get<std::string>());
    } else if (key == "iterations") {
      o.iterations = get_integer(key, value);
    } else if (key == "learning_rate") {
      o.learning_rate = get_number(key, value);
    } else if (key == "learning_rate_decay") {
      o.learning_rate_decay = get_number(key, value);
    } else if (key == "restart_patience") {
      o.restart_patience = get_integer(key, value);
    } else if (key == "max_step") {
      o.max_step_m = get_number(key, value);
    } else if (key == "max_step_adapt") {
      o.max_step_adapt = get_number(key, value);
    } else if (key == "restart_draws") {
      o.restart_draws = get_integer(key, value);
    } else if (key == "restart_spread") {
      o.restart_spread = get_number(key, value);
    } else if (key == "backtrack") {
      if (!value.is_boolean()) {
        throw std::invalid_argument(FieldError(key, "must be true or false", value.dump()));
      }
      o.backtrack = value.get<bool>();
    } else if (key == "adam_beta1") {
      o.adam_beta1 = get_number(key, value);
    } else if (key == "adam_beta2") {
      o.adam_beta2 = get_number(key, value);
    } else if (key == "adam_epsilon") {
      o.adam_epsilon = get_number(key, value);
    } else if (key == "population") {
      o.population = get_integer(key, value);
    } else if (key == "elite_fraction") {
      o.elite_fraction = get_number(key, value);
    } else if (key == "initial_std") {
      o.initial_std = get_number(key, value);
    } else if (key == "min_std") {
      o.min_std = get_number(key, value);
    } else if (key == "std_smoothing") {
      o.std_smoothing = get_number(key, value);
    } else if (key == "lbfgs_memory") {
      o.lbfgs_memory = get_integer(key, value);
    } else if (key == "seed") {
      if (!value.is_number_unsigned()) {
        throw std::invalid_argument(FieldError(key, "must be an integer >= 0", value.dump()));
      }
      o.seed = value.get<std::uint64_t>();
    } else if (key == "threads") {
      o.threads = get_integer(key, value);
    } else {
      throw std::invalid_argument("optimizer." + key + ": unknown field");
    }
  }
  CheckValid(o);
  return o;
}

// ---------------------------------------------------------------------------------------------
// Records and summaries

nlohmann::json DoubleToJson(double value) {
  if (std::isfinite(value)) return value;
  if (std::isnan(value)) return "nan";
  return value > 0 ? "inf" : "-inf";
}

double DoubleFromJson(const nlohmann::json& json) {
  if (json.is_number()) return json.get<double>();
  if (json.is_string()) {
    const std::string& text = json.get_ref<const std::string&>();
    if (text == "nan") return std::numeric_limits<double>::quiet_NaN();
    if (text == "inf") return std::numeric_limits<double>::infinity();
    if (text == "-inf") return -std::numeric_limits<double>::infinity();
  }
  throw std::invalid_argument("expected a number, \"nan\", \"inf\" or \"-inf\" (got " +
                              json.dump() + ")");
}

nlohmann::json DoublesToJson(const std::vector<double>& values) {
  nlohmann::json array = nlohmann::json::array();
  for (double v : values) array.push_back(DoubleToJson(v));
  return array;
}

std::vector<double> DoublesFromJson(const nlohmann::json& json) {
  if (!json.is_array()) {
    throw std::invalid_argument("expected an array of numbers (got " + json.dump() + ")");
  }
  std::vector<double> values;
  values.reserve(json.size());
  for (const auto& item : json) values.push_back(DoubleFromJson(item));
  return values;
}

nlohmann::json ToJson(const IterationRecord& r) {
  return {{"iteration", r.iteration},
          {"value", DoubleToJson(r.value)},
          {"best_value", DoubleToJson(r.best_value)},
          {"best_x", DoublesToJson(r.best_x)},
          {"x", DoublesToJson(r.x)},
          {"evaluations", r.evaluations},
          {"gradient_evaluations", r.gradient_evaluations},
          {"seconds", r.seconds}};
}

const char* OptimizerTerminationName(OptimizerTermination termination) {
  switch (termination) {
    case OptimizerTermination::kMaxIterations: return "max_iterations";
    case OptimizerTermination::kConverged: return "converged";
    case OptimizerTermination::kStoppedByCallback: return "stopped_by_callback";
    case OptimizerTermination::kFailure: return "failure";
  }
  return "?";
}

std::string OptimizerSummary::BriefReport() const {
  char line[512];
  std::snprintf(line, sizeof(line),
                "%s: %d iterations, best %.6e (initial %.6e), %lld evaluations "
                "(%lld with gradient), %.3f s, %s",
                tasks::OptimizerKindName(kind), iterations, best_value, initial_value,
                static_cast<long long>(evaluations), static_cast<long long>(gradient_evaluations),
                seconds, termination.c_str());
  return line;
}

std::string OptimizerSummary::FullReport() const {
  std::ostringstream out;
  char line[256];
  const auto row = [&](const char* name, const std::string& value) {
    std::snprintf(line, sizeof(line), "%-24s %s\n", name, value.c_str());
    out << line;
  };
  out << "Optimizer summary\n\n";
  row("Optimizer", tasks::OptimizerKindName(kind));
  row("Parameters", std::to_string(dimension));
  std::string iteration_text = std::to_string(iterations);
  if (first_iteration > 0) {
    iteration_text += " (resumed at iteration " + std::to_string(first_iteration) + ")";
  }
  row("Iterations", iteration_text);
  row("Evaluations", std::to_string(evaluations));
  row("Gradient evaluations", std::to_string(gradient_evaluations));
  out << "\n";
  std::snprintf(line, sizeof(line), "%.6e", initial_value);
  row("Initial value", line);
  std::snprintf(line, sizeof(line), "%.6e", best_value);
  row("Best value", line);
  std::snprintf(line, sizeof(line), "%.6e", initial_value - best_value);
  row("Change", line);
  row("Best x", FormatVector(best_x));
  out << "\n";
  std::snprintf(line, sizeof(line), "%.3f", seconds);
  row("Time (s)", line);
  row("Termination", termination);
  return out.str();
}

// ---------------------------------------------------------------------------------------------
// Randomness

std::mt19937_64 IterationGenerator(std::uint64_t seed, int iteration) {
  const std::uint64_t mixed =
      SplitMix64(SplitMix64(seed) ^ SplitMix64(0xD1B54A32D192ED03ULL +
                                               static_cast<std::uint64_t>(iteration)));
  return std::mt19937_64(mixed);
}

double UniformDouble(std::mt19937_64& generator) {
  return static_cast<double>(generator() >> 11) * 0x1.0p-53;
}

// ---------------------------------------------------------------------------------------------
// OptimizerRun

struct OptimizerRun::Parallel {
  explicit Parallel(int threads)
      : arena(threads > 0 ? threads : static_cast<int>(tbb::task_arena::automatic)) {}
  tbb::task_arena arena;
};

OptimizerRun::OptimizerRun(const Problem& problem, const std::vector<double>& x0,
                           const OptimizerOptions& options, const OptimizerCallbacks& callbacks,
                           const nlohmann::json* resume_state)
    : problem_(problem), options_(options), callbacks_(callbacks) {
  start_time_ = NowSeconds();
  const int n = problem.Dimension();
  if (n < 1) throw std::invalid_argument("problem: has no parameters to optimize");
  lower_ = problem.LowerBounds();
  upper_ = problem.UpperBounds();
  if (static_cast<int>(lower_.size()) != n || static_cast<int>(upper_.size()) != n) {
    throw std::invalid_argument("problem: has " + std::to_string(n) + " parameters but " +
                                std::to_string(lower_.size()) + " lower and " +
                                std::to_string(upper_.size()) + " upper bounds");
  }
  for (int i = 0; i < n; ++i) {
    if (!std::isfinite(lower_[i]) || !std::isfinite(upper_[i]) || lower_[i] > upper_[i]) {
      throw std::invalid_argument("problem: bounds[" + std::to_string(i) +
                                  "]: must be finite with lower <= upper (got [" +
                                  FormatNumber(lower_[i]) + ", " + FormatNumber(upper_[i]) +
                                  "])");
    }
  }
  if (static_cast<int>(x0.size()) != n) {
    throw std::invalid_argument("x0: has " + std::to_string(x0.size()) +
                                " entries but the problem has " + std::to_string(n) +
                                " parameters");
  }
  x0_.resize(n);
  for (int i = 0; i < n; ++i) {
    if (!std::isfinite(x0[i])) {
      throw std::invalid_argument("x0[" + std::to_string(i) + "]: must be finite (got " +
                                  FormatNumber(x0[i]) + ")");
    }
    x0_[i] = std::clamp(x0[i], lower_[i], upper_[i]);
  }
  best_x_ = x0_;

  if (resume_state == nullptr) return;
  const nlohmann::json& state = *resume_state;
  const auto fail = [](const std::string& what) {
    throw std::invalid_argument("resume state: " + what);
  };
  try {
    if (!state.is_object() || !state.contains("format") || state["format"] != kStateFormat) {
      fail(std::string("not an optimizer state (expected \"format\": \"") + kStateFormat +
           "\")");
    }
    const int version = state.at("version").get<int>();
    if (version != kStateVersion) {
      fail("version " + std::to_string(version) + " is not supported (expected " +
           std::to_string(kStateVersion) + ")");
    }
    const std::string name = state.at("optimizer").get<std::string>();
    if (ParseOptimizerKind(name) != options.kind) {
      fail("saved by optimizer '" + name + "', cannot resume it with '" +
           tasks::OptimizerKindName(options.kind) + "'");
    }
    const int dimension = state.at("dimension").get<int>();
    if (dimension != n) {
      fail("has " + std::to_string(dimension) + " parameters but the problem has " +
           std::to_string(n));
    }
    next_iteration_ = state.at("next_iteration").get<int>();
    if (next_iteration_ < 0) fail("next_iteration: must be >= 0");
    best_x_ = DoublesFromJson(state.at("best_x"));
    if (static_cast<int>(best_x_.size()) != n) fail("best_x: wrong size");
    for (int i = 0; i < n; ++i) {
      if (!(best_x_[i] >= lower_[i] && best_x_[i] <= upper_[i])) {
        fail("best_x[" + std::to_string(i) + "] = " + FormatNumber(best_x_[i]) +
             " is outside the bounds [" + FormatNumber(lower_[i]) + ", " +
             FormatNumber(upper_[i]) + "]");
      }
    }
    best_value_ = DoubleFromJson(state.at("best_value"));
    initial_value_ = DoubleFromJson(state.at("initial_value"));
    has_initial_value_ = true;
    evaluations_ = state.at("evaluations").get<std::int64_t>();
    gradient_evaluations_ = state.at("gradient_evaluations").get<std::int64_t>();
    previous_seconds_ = state.at("seconds").get<double>();
    resume_algorithm_state_ = state.at("algorithm");
    if (!resume_algorithm_state_.is_object()) fail("algorithm: must be an object");
  } catch (const nlohmann::json::exception& e) {
    fail(e.what());
  }
  resumed_ = true;
  first_iteration_ = next_iteration_;
}

OptimizerRun::~OptimizerRun() = default;

void OptimizerRun::CheckInBounds(const std::vector<double>& x) const {
  if (x.size() != lower_.size()) {
    throw std::logic_error("optimizer bug: evaluation point has " + std::to_string(x.size()) +
                           " entries, expected " + std::to_string(lower_.size()));
  }
  for (size_t i = 0; i < x.size(); ++i) {
    if (!(x[i] >= lower_[i] && x[i] <= upper_[i])) {
      throw std::logic_error("optimizer bug: x[" + std::to_string(i) + "] = " +
                             FormatNumber(x[i]) + " is outside the bounds [" +
                             FormatNumber(lower_[i]) + ", " + FormatNumber(upper_[i]) + "]");
    }
  }
}

double OptimizerRun::SecondsSoFar() const {
  return previous_seconds_ + (NowSeconds() - start_time_);
}

double OptimizerRun::Value(const std::vector<double>& x) {
  CheckInBounds(x);
  ++evaluations_;
  return problem_.Value(x);
}

double OptimizerRun::ValueAndGradient(const std::vector<double>& x,
                                      std::vector<double>* gradient) {
  CheckInBounds(x);
  ++evaluations_;
  ++gradient_evaluations_;
  gradient->assign(x.size(), 0.0);
  const double value = problem_.ValueAndGradient(x, gradient);
  if (gradient->size() != x.size()) {
    throw std::logic_error("problem: ValueAndGradient returned a gradient of " +
                           std::to_string(gradient->size()) + " entries, expected " +
                           std::to_string(x.size()));
  }
  return value;
}

std::vector<double> OptimizerRun::ValuePopulation(const std::vector<std::vector<double>>& xs) {
  for (const std::vector<double>& x : xs) CheckInBounds(x);
  if (!parallel_) parallel_ = std::make_unique<Parallel>(options_.threads);
  std::vector<double> values(xs.size());
  parallel_->arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<size_t>(0, xs.size(), 1),
                      [&](const tbb::blocked_range<size_t>& range) {
                        for (size_t i = range.begin(); i != range.end(); ++i) {
                          values[i] = problem_.Value(xs[i]);
                        }
                      });
  });
  evaluations_ += static_cast<std::int64_t>(xs.size());
  return values;
}

void OptimizerRun::Offer(const std::vector<double>& x, double value) {
  if (std::isfinite(value) && value < best_value_) {
    best_value_ = value;
    best_x_ = x;
  }
}

void OptimizerRun::SetInitialValue(double value) {
  if (has_initial_value_) return;
  has_initial_value_ = true;
  initial_value_ = value;
}

nlohmann::json OptimizerRun::State(const nlohmann::json& algorithm_state) const {
  return {{"format", kStateFormat},
          {"version", kStateVersion},
          {"optimizer", tasks::OptimizerKindName(options_.kind)},
          {"dimension", dimension()},
          {"next_iteration", next_iteration_},
          {"best_x", DoublesToJson(best_x_)},
          {"best_value", DoubleToJson(best_value_)},
          {"initial_value", DoubleToJson(initial_value_)},
          {"evaluations", evaluations_},
          {"gradient_evaluations", gradient_evaluations_},
          {"seconds", SecondsSoFar()},
          {"options", OptionsToJson(options_)},
          {"algorithm", algorithm_state.is_null() ? nlohmann::json::object() : algorithm_state}};
}

bool OptimizerRun::EndIteration(double value, const std::vector<double>& x,
                                nlohmann::json algorithm_state) {
  IterationRecord record;
  record.iteration = next_iteration_;
  record.value = value;
  record.best_value = best_value_;
  record.best_x = best_x_;
  record.x = x;
  record.evaluations = evaluations_;
  record.gradient_evaluations = gradient_evaluations_;
  record.seconds = SecondsSoFar();
  ++next_iteration_;
  last_state_ = State(algorithm_state);
  last_state_["seconds"] = record.seconds;
  records_.push_back(record);
  if (callbacks_.on_iteration && !callbacks_.on_iteration(records_.back(), last_state_)) {
    stopped_ = true;
    return false;
  }
  return true;
}

void OptimizerRun::SetTermination(OptimizerTermination type, std::string message) {
  has_termination_ = true;
  termination_type_ = type;
  termination_ = std::move(message);
}

OptimizerSummary OptimizerRun::Finish() {
  OptimizerSummary summary;
  summary.kind = options_.kind;
  summary.dimension = dimension();
  summary.best_x = best_x_;
  summary.best_value = best_value_;
  summary.initial_value = initial_value_;
  summary.first_iteration = first_iteration_;
  summary.iterations = next_iteration_;
  summary.evaluations = evaluations_;
  summary.gradient_evaluations = gradient_evaluations_;
  summary.seconds = SecondsSoFar();
  if (has_termination_) {
    summary.termination_type = termination_type_;
    summary.termination = termination_;
  } else if (stopped_) {
    summary.termination_type = OptimizerTermination::kStoppedByCallback;
    summary.termination = "stopped by callback";
  } else {
    summary.termination_type = OptimizerTermination::kMaxIterations;
    summary.termination = "reached max iterations";
  }
  summary.records = std::move(records_);
  records_.clear();
  summary.final_state = last_state_.is_null() ? State(resume_algorithm_state_) : last_state_;
  return summary;
}

// ---------------------------------------------------------------------------------------------
// Entry point and factory

std::unique_ptr<Optimizer> MakeOptimizer(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::kAdam: return std::make_unique<AdamOptimizer>();
    case OptimizerKind::kLbfgs: return std::make_unique<LbfgsOptimizer>();
    case OptimizerKind::kCem: return std::make_unique<CemOptimizer>();
    case OptimizerKind::kRandom: return std::make_unique<RandomSearchOptimizer>();
  }
  throw std::invalid_argument("unknown optimizer kind " + std::to_string(static_cast<int>(kind)));
}

OptimizerSummary Optimize(const Problem& problem, const std::vector<double>& x0,
                          const OptimizerOptions& options, const OptimizerCallbacks& callbacks,
                          const nlohmann::json* resume_state) {
  CheckValid(options);
  const std::unique_ptr<Optimizer> optimizer = MakeOptimizer(options.kind);
  if (optimizer->NeedsGradient() && !problem.HasGradient()) {
    throw std::invalid_argument(std::string("optimizer '") +
                                tasks::OptimizerKindName(options.kind) +
                                "' needs gradients, but the problem has none (use cem or random)");
  }
  OptimizerRun run(problem, x0, options, callbacks, resume_state);
  if (!run.done()) optimizer->Run(&run);
  return run.Finish();
}

std::vector<double> SizedDoubles(const nlohmann::json& json, size_t size, const char* name) {
  std::vector<double> values = DoublesFromJson(json);
  if (values.size() != size) {
    throw std::invalid_argument(std::string("resume state: algorithm.") + name + ": has " +
                                std::to_string(values.size()) + " entries, expected " + std::to_string(size));
  }
  for (double v : values) {
    if (!std::isfinite(v)) throw std::invalid_argument(std::string("resume state: algorithm.") + name + ": must be finite");
  }
  return values;
}

}  // namespace flowdesign::design
