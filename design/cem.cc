// The cross-entropy method in normalized coordinates, with parallel, thread-count independent
// evaluation of each population.
#include "design/cem.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace flowdesign::design {
namespace {

// Standard normal numbers by the Box-Muller transform on UniformDouble, so the stream depends
// only on the (standardized) mt19937_64 and not on a library's normal_distribution.
class NormalSampler {
 public:
  explicit NormalSampler(std::mt19937_64* generator) : generator_(generator) {}

  double Next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = 1.0 - UniformDouble(*generator_);  // (0, 1]
    const double u2 = UniformDouble(*generator_);
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 6.283185307179586 * u2;  // 2 pi
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
  }

 private:
  std::mt19937_64* generator_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};


}  // namespace

void CemOptimizer::Run(OptimizerRun* run) const {
  const OptimizerOptions& options = run->options();
  const std::vector<double>& lower = run->lower();
  const std::vector<double>& upper = run->upper();
  const size_t n = static_cast<size_t>(run->dimension());
  const size_t population = static_cast<size_t>(options.population);
  const size_t elite_count = std::clamp<size_t>(
      static_cast<size_t>(std::ceil(options.elite_fraction * options.population - 1e-9)), 1,
      population);
  std::vector<bool> fixed(n);
  for (size_t i = 0; i < n; ++i) fixed[i] = !(upper[i] > lower[i]);

  const auto to_x = [&](const std::vector<double>& u) {
    std::vector<double> x(n);
    for (size_t i = 0; i < n; ++i) {
      x[i] = fixed[i] ? lower[i]
                      : std::clamp(lower[i] + (upper[i] - lower[i]) * u[i], lower[i], upper[i]);
    }
    return x;
  };

  // The search distribution in normalized coordinates.
  std::vector<double> mean(n, 0.0), std_dev(n, 0.0);
  if (run->resume_algorithm_state().is_null()) {
    for (size_t i = 0; i < n; ++i) {
      if (fixed[i]) continue;
      mean[i] = std::clamp((run->x0()[i] - lower[i]) / (upper[i] - lower[i]), 0.0, 1.0);
      std_dev[i] = options.initial_std;
    }
  } else {
    const nlohmann::json& state = run->resume_algorithm_state();
    if (!state.contains("mean") || !state.contains("std")) {
      throw std::invalid_argument("resume state: algorithm: needs \"mean\" and \"std\"");
    }
    mean = SizedDoubles(state["mean"], n, "mean");
    std_dev = SizedDoubles(state["std"], n, "std");
  }

  std::vector<std::vector<double>> u_samples(population, std::vector<double>(n));
  std::vector<std::vector<double>> x_samples(population);
  std::vector<size_t> order(population);
  while (!run->done()) {
    const int iteration = run->next_iteration();
    // Every random number of this iteration, drawn serially before any evaluation.
    std::mt19937_64 generator = IterationGenerator(options.seed, iteration);
    NormalSampler normal(&generator);
    for (size_t s = 0; s < population; ++s) {
      for (size_t i = 0; i < n; ++i) {
        const double noise = normal.Next();
        u_samples[s][i] = fixed[i] ? 0.0 : std::clamp(mean[i] + std_dev[i] * noise, 0.0, 1.0);
      }
      x_samples[s] = to_x(u_samples[s]);
    }
    const std::vector<double> mean_x = iteration == 0 ? run->x0() : to_x(mean);
    if (iteration == 0) {
      u_samples[0] = mean;
      x_samples[0] = run->x0();
    }

    const std::vector<double> values = run->ValuePopulation(x_samples);
    if (iteration == 0) run->SetInitialValue(values[0]);
    for (size_t s = 0; s < population; ++s) run->Offer(x_samples[s], values[s]);

    // Rank: finite values ascending, then non-finite ones; ties by sample index.
    const auto rank_value = [&](size_t s) {
      return std::isfinite(values[s]) ? values[s] : std::numeric_limits<double>::infinity();
    };
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return rank_value(a) < rank_value(b); });
    const double iteration_best = std::isfinite(values[order[0]])
                                      ? values[order[0]]
                                      : std::numeric_limits<double>::quiet_NaN();

    // Refit to the finite elites; with none, the distribution stays as it is.
    size_t elites = 0;
    while (elites < elite_count && std::isfinite(values[order[elites]])) ++elites;
    if (elites > 0) {
      for (size_t i = 0; i < n; ++i) {
        if (fixed[i]) continue;
        double sum = 0.0;
        for (size_t e = 0; e < elites; ++e) sum += u_samples[order[e]][i];
        const double elite_mean = sum / static_cast<double>(elites);
        double squares = 0.0;
        for (size_t e = 0; e < elites; ++e) {
          const double d = u_samples[order[e]][i] - elite_mean;
          squares += d * d;
        }
        // The sample standard deviation (1 / (k - 1)); a single elite gives 0.
        const double elite_std =
            elites > 1 ? std::sqrt(squares / static_cast<double>(elites - 1)) : 0.0;
        mean[i] = elite_mean;
        std_dev[i] = std::max(
            options.std_smoothing * std_dev[i] + (1.0 - options.std_smoothing) * elite_std,
            options.min_std);
      }
    }

    nlohmann::json state = {{"mean", DoublesToJson(mean)}, {"std", DoublesToJson(std_dev)}};
    if (!run->EndIteration(iteration_best, mean_x, std::move(state))) return;
  }
}

}  // namespace flowdesign::design
