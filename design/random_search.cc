// Random search within the bounds, with parallel, thread-count independent evaluation.
#include "design/random_search.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace flowdesign::design {

void RandomSearchOptimizer::Run(OptimizerRun* run) const {
  const OptimizerOptions& options = run->options();
  const std::vector<double>& lower = run->lower();
  const std::vector<double>& upper = run->upper();
  const size_t n = static_cast<size_t>(run->dimension());
  const size_t population = static_cast<size_t>(options.population);

  while (!run->done()) {
    const int iteration = run->next_iteration();
    // Every random number of this iteration, drawn serially before any evaluation.
    std::mt19937_64 generator = IterationGenerator(options.seed, iteration);
    std::vector<std::vector<double>> samples(population, std::vector<double>(n));
    for (size_t s = 0; s < population; ++s) {
      for (size_t i = 0; i < n; ++i) {
        const double u = UniformDouble(generator);
        samples[s][i] = std::clamp(lower[i] + (upper[i] - lower[i]) * u, lower[i], upper[i]);
      }
    }
    if (iteration == 0) samples[0] = run->x0();

    const std::vector<double> values = run->ValuePopulation(samples);
    if (iteration == 0) run->SetInitialValue(values[0]);
    size_t best = 0;
    double best_value = std::numeric_limits<double>::quiet_NaN();
    for (size_t s = 0; s < population; ++s) {
      run->Offer(samples[s], values[s]);
      if (std::isfinite(values[s]) && !(values[s] >= best_value)) {
        best = s;
        best_value = values[s];
      }
    }
    if (!run->EndIteration(best_value, samples[best], nlohmann::json::object())) return;
  }
}

}  // namespace flowdesign::design
