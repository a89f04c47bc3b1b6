// Adam with bounds handled by the tanh change of variables.
#include "design/adam.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "design/bounded_transform.h"
#include "tasks/tool_geometry.h"

namespace flowdesign::design {
namespace {

bool AllFinite(const std::vector<double>& values) {
  for (double v : values) {
    if (!std::isfinite(v)) return false;
  }
  return true;
}

// Shortens `step` (in z) along its direction until the design moves at most `max_step_m` from
// XFromZ(z). Displacement is close to linear in small steps, so a few rescalings suffice.
// Returns whether the step was shortened.
bool LimitDisplacement(const Problem& problem, const BoundedTransform& transform, const std::vector<double>& z,
                       double max_step_m, std::vector<double>* step) {
  const std::vector<double> from = transform.XFromZ(z);
  std::vector<double> to_z(z.size());
  bool shortened = false;
  for (int attempt = 0; attempt < 8; ++attempt) {
    for (size_t i = 0; i < z.size(); ++i) to_z[i] = z[i] + (*step)[i];
    const double moved = problem.Displacement(from, transform.XFromZ(to_z));
    if (!(moved > max_step_m * (1.0 + 1e-6))) return shortened;
    for (double& s : *step) s *= 0.999 * max_step_m / moved;
    shortened = true;
  }
  return shortened;
}

// The adaptive step limit (OptimizerOptions::max_step_adapt): a trust radius judged by how much
// of the first-order predicted decrease each step delivered.
struct TrustRadius {
  double radius_m = 0.0;
  double predicted_decrease = 0.0;  // -gradient . step of the step just taken; 0 = nothing to judge
  double value_before = 0.0;        // the objective where that step started
  bool limited = false;             // whether that step was shortened to the radius

  void Judge(double value, double max_step_m, double adapt) {
    if (!(predicted_decrease > 0.0)) return;
    const double ratio = (value_before - value) / predicted_decrease;
    if (ratio < 0.25) {
      radius_m = std::max(0.5 * radius_m, max_step_m);
    } else if (ratio > 0.75 && limited) {
      radius_m = std::min(2.0 * radius_m, max_step_m * adapt);
    }
    predicted_decrease = 0.0;
  }
};

// OptimizerOptions::restart_draws designs around `best_x`, each parameter moved uniformly by up
// to `spread` of its range and clamped into the bounds; drawn from (seed, iteration) so that a
// resumed run draws the same ones.
std::vector<std::vector<double>> RestartDraws(const OptimizerRun& run, const std::vector<double>& best_x,
                                              int iteration) {
  const OptimizerOptions& options = run.options();
  std::mt19937_64 generator = IterationGenerator(options.seed, iteration);
  std::vector<std::vector<double>> draws;
  for (int k = 0; k < options.restart_draws; ++k) {
    draws.push_back(tasks::MovedWithinBounds(best_x, run.lower(), run.upper(), [&] {
      return (2.0 * UniformDouble(generator) - 1.0) * options.restart_spread;
    }));
  }
  return draws;
}

// At a restart: evaluates the restart draws around the best design and, when the best of them
// beats `best_value`, sets *z to it and returns true.
bool HopToBetterDraw(OptimizerRun* run, const BoundedTransform& transform, const std::vector<double>& best_z,
                     double best_value, std::vector<double>* z) {
  if (run->options().restart_draws == 0) return false;
  const std::vector<std::vector<double>> draws =
      RestartDraws(*run, transform.XFromZ(best_z), run->next_iteration());
  const std::vector<double> values = run->ValuePopulation(draws);
  size_t best = draws.size();
  for (size_t k = 0; k < draws.size(); ++k) {
    if (!std::isfinite(values[k])) continue;
    run->Offer(draws[k], values[k]);
    if (values[k] < best_value && (best == draws.size() || values[k] < values[best])) best = k;
  }
  if (best == draws.size()) return false;
  *z = transform.ZFromX(draws[best]);
  return true;
}

}  // namespace

void AdamOptimizer::Run(OptimizerRun* run) const {
  const OptimizerOptions& options = run->options();
  const BoundedTransform transform(run->lower(), run->upper());
  const size_t n = static_cast<size_t>(run->dimension());

  std::vector<double> z = transform.ZFromX(run->x0());
  std::vector<double> m(n, 0.0), v(n, 0.0), last_step(n, 0.0);
  int steps = 0;              // Adam updates made since the start or the last restart
  bool has_last_step = false; // whether z came from a step that can be halved
  // The best point so far (with its gradient, so a restart needs no new evaluation), the steps
  // since it, and the step-size factor that each restart halves.
  std::vector<double> best_z, best_gradient_z;
  double best_value = 0.0;
  int since_best = 0;
  double step_scale = 1.0;
  // The value where the step that led to z started (OptimizerOptions::backtrack); +inf when z
  // was not reached by a judged step.
  double step_start_value = std::numeric_limits<double>::infinity();
  TrustRadius trust;
  trust.radius_m = options.max_step_m;
  const bool adaptive = options.max_step_adapt > 1.0 && options.max_step_m > 0.0;
  if (!run->resume_algorithm_state().is_null()) {
    const nlohmann::json& state = run->resume_algorithm_state();
    try {
      z = SizedDoubles(state.at("z"), n, "z");
      m = SizedDoubles(state.at("m"), n, "m");
      v = SizedDoubles(state.at("v"), n, "v");
      last_step = SizedDoubles(state.at("last_step"), n, "last_step");
      steps = state.at("steps").get<int>();
      has_last_step = state.at("has_last_step").get<bool>();
      if (state.contains("best_z")) {  // absent in states written before restarts existed
        best_z = state.at("best_z").is_null() ? std::vector<double>{} : SizedDoubles(state.at("best_z"), n, "best_z");
        if (!best_z.empty()) {
          best_gradient_z = SizedDoubles(state.at("best_gradient_z"), n, "best_gradient_z");
          best_value = state.at("best_value").get<double>();
        }
        since_best = state.at("since_best").get<int>();
        step_scale = state.at("step_scale").get<double>();
      }
      if (state.contains("trust_radius")) {  // absent in states written before the adaptive limit
        trust.radius_m = state.at("trust_radius").get<double>();
        trust.predicted_decrease = state.at("trust_predicted_decrease").get<double>();
        trust.value_before = state.at("trust_value_before").get<double>();
        trust.limited = state.at("trust_limited").get<bool>();
      }
      if (state.contains("step_start_value")) {  // absent in states written before backtracking
        step_start_value = DoubleFromJson(state.at("step_start_value"));
      }
    } catch (const nlohmann::json::exception& e) {
      throw std::invalid_argument(std::string("resume state: algorithm: ") + e.what());
    }
    for (double value : z) {
      if (std::isnan(value)) throw std::invalid_argument("resume state: algorithm.z: NaN");
    }
  }

  std::vector<double> gradient_x(n), gradient_z(n);
  while (!run->done()) {
    const std::vector<double> x = transform.XFromZ(z);
    const double value = run->ValueAndGradient(x, &gradient_x);
    run->SetInitialValue(value);
    const bool finite = std::isfinite(value) && AllFinite(gradient_x);
    bool failed = false;
    if (finite) {
      run->Offer(x, value);
      transform.GradientZFromX(z.data(), gradient_x.data(), gradient_z.data());
      if (adaptive) trust.Judge(value, options.max_step_m, options.max_step_adapt);
      double value_here = value;  // the objective where this step starts
      bool hopped = false;
      bool rejected = false;
      if (best_z.empty() || value < best_value) {
        best_z = z;
        best_gradient_z = gradient_z;
        best_value = value;
        since_best = 0;
      } else if (++since_best >= options.restart_patience && options.restart_patience > 0) {
        std::fill(m.begin(), m.end(), 0.0);
        std::fill(v.begin(), v.end(), 0.0);
        steps = 0;
        since_best = 0;
        if (HopToBetterDraw(run, transform, best_z, best_value, &z)) {
          // A new basin: its gradient comes with the next evaluation; no step is taken now.
          // The way back (a non-finite value there halves the jump) is the jump itself.
          for (size_t i = 0; i < n; ++i) last_step[i] = z[i] - best_z[i];
          has_last_step = true;
          step_scale = 1.0;
          trust.radius_m = options.max_step_m;
          trust.predicted_decrease = 0.0;
          hopped = true;
        } else {
          z = best_z;
          gradient_z = best_gradient_z;
          step_scale *= 0.5;
          value_here = best_value;
        }
      } else if (options.backtrack && has_last_step && value > step_start_value) {
        // The step made things worse: try half of it from where it started. Adam's moments have
        // already taken the gradient there, so the one here is not used.
        for (size_t i = 0; i < n; ++i) {
          last_step[i] *= 0.5;
          z[i] -= last_step[i];
        }
        rejected = true;
      }
      if (hopped) step_start_value = std::numeric_limits<double>::infinity();
      if (!hopped && !rejected) {
        step_start_value = value_here;
        ++steps;
        const double correction1 = 1.0 - std::pow(options.adam_beta1, steps);
        const double correction2 = 1.0 - std::pow(options.adam_beta2, steps);
        const double step_size =
            options.learning_rate * step_scale * std::pow(options.learning_rate_decay, steps - 1);
        for (size_t i = 0; i < n; ++i) {
          const double g = gradient_z[i];
          m[i] = options.adam_beta1 * m[i] + (1.0 - options.adam_beta1) * g;
          v[i] = options.adam_beta2 * v[i] + (1.0 - options.adam_beta2) * g * g;
          const double m_hat = m[i] / correction1;
          const double v_hat = v[i] / correction2;
          last_step[i] = -step_size * m_hat / (std::sqrt(v_hat) + options.adam_epsilon);
        }
        if (options.max_step_m > 0.0) {
          // A restart halves the limit too: with the limit binding, halving only the learning
          // rate would repeat the same step.
          trust.limited = LimitDisplacement(run->problem(), transform, z, trust.radius_m * step_scale, &last_step);
        }
        if (adaptive) {
          trust.value_before = value_here;
          trust.predicted_decrease = 0.0;
          for (size_t i = 0; i < n; ++i) trust.predicted_decrease -= gradient_z[i] * last_step[i];
        }
        for (size_t i = 0; i < n; ++i) z[i] += last_step[i];
        has_last_step = true;
      }
    } else if (has_last_step) {
      trust.predicted_decrease = 0.0;  // the halved step is not judged
      for (size_t i = 0; i < n; ++i) {
        last_step[i] *= 0.5;
        z[i] -= last_step[i];
      }
    } else {
      failed = true;
    }
    nlohmann::json state = {{"z", DoublesToJson(z)},
                            {"m", DoublesToJson(m)},
                            {"v", DoublesToJson(v)},
                            {"last_step", DoublesToJson(last_step)},
                            {"steps", steps},
                            {"has_last_step", has_last_step},
                            {"best_z", best_z.empty() ? nlohmann::json() : DoublesToJson(best_z)},
                            {"best_gradient_z", DoublesToJson(best_gradient_z)},
                            {"best_value", best_value},
                            {"since_best", since_best},
                            {"step_scale", step_scale},
                            {"trust_radius", trust.radius_m},
                            {"trust_predicted_decrease", trust.predicted_decrease},
                            {"trust_value_before", trust.value_before},
                            {"trust_limited", trust.limited},
                            {"step_start_value", DoubleToJson(step_start_value)}};
    const bool go_on = run->EndIteration(value, x, std::move(state));
    if (failed) {
      run->SetTermination(OptimizerTermination::kFailure,
                          "failed (non-finite value or gradient at the starting point)");
      return;
    }
    if (!go_on) return;
  }
}

}  // namespace flowdesign::design
