#include "simulator/training/paired_comparison.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>
#include <stdexcept>

namespace flowdesign::simulator::training {
void CheckSameSource(const nlohmann::json& report_source, const nlohmann::json& baseline, const std::string& name) {
  for (const char* field : {"data", "split"}) {
    if (!report_source.contains(field) || !baseline.contains(field)) continue;
    if (report_source[field] == baseline[field]) continue;
    // Other data with the same scenes (another ground truth) still pairs scene by scene.
    const bool same_scenes = report_source.contains("scenes") && baseline.contains("scenes") &&
                             report_source["scenes"] == baseline["scenes"];
    if (std::string(field) == "data" && same_scenes) continue;
    throw std::invalid_argument(name + ": field \"" + field + "\": the baseline was evaluated on " +
                                baseline[field].dump() + ", this model on " + report_source[field].dump() +
                                (std::string(field) == "data" ? ", and not on the same scenes" : ""));
  }
}

double SignTestP(int better, int worse) {
  const int n = better + worse, k = std::min(better, worse);
  if (n == 0) return 1.0;
  // P(X <= k) for X ~ Binomial(n, 1/2), doubled, summed in logs to stay finite for large n.
  double tail = 0.0;
  for (int i = 0; i <= k; ++i) {
    tail += std::exp(std::lgamma(n + 1.0) - std::lgamma(i + 1.0) - std::lgamma(n - i + 1.0) - n * std::log(2.0));
  }
  return std::min(1.0, 2.0 * tail);
}

PairedDifference SummarizeDifferences(const std::vector<double>& delta) {
  if (delta.empty()) throw std::invalid_argument("no differences to summarize");
  PairedDifference d;
  for (double x : delta) {
    d.better += x < 0.0;
    d.worse += x > 0.0;
  }
  const double n = static_cast<double>(delta.size());
  for (double x : delta) d.mean += x / n;
  double squares = 0.0;
  for (double x : delta) squares += (x - d.mean) * (x - d.mean);
  d.standard_error = delta.size() > 1 ? std::sqrt(squares / (n - 1.0) / n) : 0.0;
  d.median = Median(delta);
  d.sign_test_p = SignTestP(d.better, d.worse);
  return d;
}

std::vector<PairedDifference> ComparePaired(const EvaluationReport& report, const nlohmann::json& report_source,
                                            const nlohmann::json& baseline, const std::string& baseline_name) {
  CheckSameSource(report_source, baseline, baseline_name);
  if (!baseline.contains("horizons") || !baseline["horizons"].is_array()) {
    throw std::invalid_argument(baseline_name + ": field \"horizons\": missing (not an evaluation.json of evaluate-model?)");
  }
  const nlohmann::json& horizons = baseline["horizons"];
  if (horizons.size() != report.horizons.size()) {
    throw std::invalid_argument(baseline_name + ": field \"horizons\": " + std::to_string(horizons.size()) +
                                " horizons, this evaluation has " + std::to_string(report.horizons.size()));
  }
  std::vector<PairedDifference> differences;
  for (size_t h = 0; h < horizons.size(); ++h) {
    const HorizonError& mine = report.horizons[h];
    const nlohmann::json& theirs = horizons[h];
    const nlohmann::json steps = HorizonJson(mine.steps);
    if (theirs.value("steps", nlohmann::json()) != steps) {
      throw std::invalid_argument(baseline_name + ": field \"horizons[" + std::to_string(h) + "].steps\": " +
                                  theirs.value("steps", nlohmann::json()).dump() + ", this evaluation has " + steps.dump());
    }
    const std::string field = "horizons[" + std::to_string(h) + "].trajectory_errors_spacings";
    const nlohmann::json errors = theirs.value("trajectory_errors_spacings", nlohmann::json());
    if (!errors.is_array() || !std::all_of(errors.begin(), errors.end(), [](const nlohmann::json& e) { return e.is_number(); })) {
      throw std::invalid_argument(baseline_name + ": field \"" + field + "\": " +
                                  (errors.is_null() ? std::string("missing") : "not a list of numbers"));
    }
    const std::vector<double> base = errors.get<std::vector<double>>();
    const std::vector<double>& own = mine.trajectory_errors_spacings;
    if (base.size() != own.size() || own.empty()) {
      throw std::invalid_argument(baseline_name + ": field \"" + field + "\": " + std::to_string(base.size()) +
                                  " trajectories, this evaluation has " + std::to_string(own.size()));
    }
    std::vector<double> delta;
    for (size_t i = 0; i < own.size(); ++i) delta.push_back(own[i] - base[i]);
    PairedDifference d = SummarizeDifferences(delta);
    d.steps = mine.steps;
    differences.push_back(d);
  }
  return differences;
}

std::string PairedTable(const std::vector<PairedDifference>& differences, const std::string& baseline_name) {
  std::ostringstream out;
  out << "\nagainst " << baseline_name << " (this model minus the baseline, per trajectory, spacings):\n"
      << "  steps   mean difference ± s.e.   median difference   better / worse   sign test p\n"
      << std::fixed;
  for (const PairedDifference& d : differences) {
    out << std::setw(7) << HorizonName(d.steps) << std::setprecision(2) << std::setw(12) << d.mean << " ± "
        << std::setw(5) << d.standard_error << std::setw(20) << d.median << std::setw(11) << d.better << " / "
        << std::setw(3) << d.worse << std::setprecision(3) << std::setw(14) << d.sign_test_p << "\n";
  }
  return out.str();
}

nlohmann::json PairedToJson(const std::vector<PairedDifference>& differences, const std::string& baseline_name) {
  nlohmann::json j{{"baseline", baseline_name}, {"horizons", nlohmann::json::array()}};
  for (const PairedDifference& d : differences) {
    j["horizons"].push_back({{"steps", HorizonJson(d.steps)},
                             {"mean_difference_spacings", d.mean},
                             {"standard_error_spacings", d.standard_error},
                             {"median_difference_spacings", d.median},
                             {"trajectories_better", d.better},
                             {"trajectories_worse", d.worse},
                             {"sign_test_p", d.sign_test_p}});
  }
  return j;
}

}  // namespace flowdesign::simulator::training
