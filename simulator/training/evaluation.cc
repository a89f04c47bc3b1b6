#include "simulator/training/evaluation.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <numeric>
#include <random>
#include <sstream>

#include "simulator/learned/rollout.h"
#include "simulator/training/example.h"

namespace flowdesign::simulator::training {
namespace {

// Mean symmetric nearest-neighbour distance between two point sets [n, 2] and [m, 2].
double Chamfer(const torch::Tensor& a, const torch::Tensor& b) {
  const torch::Tensor d = torch::cdist(a, b);
  return 0.5 * (std::get<0>(d.min(1)).mean().item<double>() + std::get<0>(d.min(0)).mean().item<double>());
}

// The fraction of points [n, 2] with another point closer than `distance`.
double CrowdedFraction(const torch::Tensor& points, double distance) {
  if (points.size(0) < 2) return 0.0;
  const torch::Tensor d = torch::cdist(points, points) + 1e9 * torch::eye(points.size(0));
  return (std::get<0>(d.min(1)) < distance).to(torch::kFloat64).mean().item<double>();
}

// Each row of `values` [n, 2] averaged over all rows with Gaussian weights of width `width` in
// the distance between their `points` [n, 2].
torch::Tensor GaussianSmoothed(const torch::Tensor& values, const torch::Tensor& points, double width) {
  const torch::Tensor weights = torch::exp(-torch::cdist(points, points).pow(2) / (2.0 * width * width));
  return weights.mm(values) / weights.sum(1, true);
}

}  // namespace

nlohmann::json EvaluationReport::ToJson() const {
  nlohmann::json j{{"trajectories", trajectories},
                   {"one_step_mse", one_step_mse},
                   {"one_step_rms_spacings", one_step_rms_spacings},
                   {"one_step_bulk_rms_spacings", one_step_bulk_rms_spacings},
                   {"one_step_smooth_rms_spacings", one_step_smooth_rms_spacings},
                   {"one_step_shuffled_smooth_rms_spacings", one_step_shuffled_smooth_rms_spacings},
                   {"horizons", nlohmann::json::array()}};
  if (one_step_volume_mse >= 0.0) j["one_step_volume_mse"] = one_step_volume_mse;
  for (const HorizonError& h : horizons) {
    j["horizons"].push_back({{"steps", HorizonJson(h.steps)},
                             {"mean_error_spacings", h.mean_error_spacings},
                             {"median_error_spacings", h.median_error_spacings},
                             {"frozen_error_spacings", h.frozen_error_spacings},
                             {"chamfer_spacings", h.chamfer_spacings},
                             {"crowded_fraction_learned", h.crowded_learned},
                             {"crowded_fraction_truth", h.crowded_truth},
                             {"trajectory_errors_spacings", h.trajectory_errors_spacings}});
  }
  return j;
}

std::string EvaluationReport::Table() const {
  std::ostringstream out;
  out << "trajectories: " << trajectories << "\none-step normalized acceleration MSE: " << one_step_mse
      << "\none-step position error (spacings, rms per axis): " << one_step_rms_spacings
      << "; shared by the whole fluid: " << one_step_bulk_rms_spacings
      << "; the rest's smooth part: " << one_step_smooth_rms_spacings << " (white errors: "
      << one_step_shuffled_smooth_rms_spacings << ")";
  if (one_step_volume_mse >= 0.0) out << "\none-step normalized MSE of J's change: " << one_step_volume_mse;
  out << "\n\n  steps   mean error   median error   chamfer   frozen fluid   (particle spacings)"
      << "   crowded (< 0.5 spacing): learned   truth\n";
  for (const HorizonError& h : horizons) {
    out << std::setw(7) << HorizonName(h.steps) << std::fixed
        << std::setprecision(2) << std::setw(13) << h.mean_error_spacings << std::setw(15)
        << h.median_error_spacings << std::setw(10) << h.chamfer_spacings << std::setw(15)
        << h.frozen_error_spacings << std::setw(44) << h.crowded_learned << std::setw(8) << h.crowded_truth << "\n";
  }
  return out.str();
}

EvaluationReport EvaluateModel(learned::LearnedSimulator& simulator, const Dataset& data,
                               const EvaluationOptions& options) {
  torch::NoGradGuard no_grad;
  EvaluationReport report;
  report.trajectories = static_cast<int>(data.trajectories.size());
  double squared_volume_error = 0.0, squared_error = 0.0, count = 0.0, squared_spacings = 0.0, squared_bulk = 0.0, squared_smooth = 0.0, squared_shuffled = 0.0;
  const learned::Normalization& norm = simulator.Norm();
  const torch::Tensor acceleration_std = torch::tensor({norm.acceleration_std[0], norm.acceleration_std[1]}, torch::kFloat64);
  std::mt19937_64 shuffle_rng(1);
  std::vector<int> horizons = options.horizons;
  horizons.push_back(-1);
  std::vector<std::vector<double>> errors(horizons.size()), frozen(horizons.size()), chamfer(horizons.size()),
      crowded_learned(horizons.size()), crowded_truth(horizons.size());
  std::mt19937_64 unused_rng;  // examples without noise draw nothing
  for (const TrajectoryTensors& t : data.trajectories) {
    for (int frame = 0; frame + 1 < t.Frames(); frame += options.one_step_stride) {
      const Example e = MakeExample(simulator, t, frame, 0.0, unused_rng, torch::kCPU);
      // The acceleration; a volume state's change of J is scored on its own.
      const torch::Tensor output = simulator.PredictNormalizedAcceleration(e.graph).narrow(0, 0, e.fluid);
      const torch::Tensor predicted = output.narrow(1, 0, 2);
      const torch::Tensor difference = predicted - e.target.narrow(1, 0, 2);
      if (e.target.size(1) == 3) {
        squared_volume_error += (output.select(1, 2) - e.target.select(1, 2)).pow(2).sum().item<double>();
      }
      squared_error += difference.pow(2).sum().item<double>();
      count += 2.0 * e.fluid;
      const double spacing = t.particle_spacing_m;
      const torch::Tensor error = difference.to(torch::kFloat64) * acceleration_std / spacing;
      const torch::Tensor points = t.Frame(frame, e.fluid).to(torch::kFloat64) / spacing;
      const double width = options.smoothing_spacings;
      std::vector<int64_t> order(static_cast<size_t>(e.fluid));
      std::iota(order.begin(), order.end(), 0);
      std::shuffle(order.begin(), order.end(), shuffle_rng);
      const torch::Tensor bulk = error.mean(0, true);
      const torch::Tensor local = error - bulk;
      const torch::Tensor shuffled = local.index_select(0, torch::tensor(order));
      squared_spacings += error.pow(2).sum().item<double>();
      squared_bulk += bulk.pow(2).sum().item<double>() * e.fluid;
      squared_smooth += GaussianSmoothed(local, points, width).pow(2).sum().item<double>();
      squared_shuffled += GaussianSmoothed(shuffled, points, width).pow(2).sum().item<double>();
    }
    // From frame 0, as a design rolls out; errors over the particles alive at each horizon.
    const int steps = t.Frames() - 1;
    const torch::Tensor rollout = RolloutFromData(simulator, t, 0, steps);
    for (size_t h = 0; h < horizons.size(); ++h) {
      const int k = horizons[h] < 0 ? steps : std::min(horizons[h], steps);
      const int64_t alive = t.AliveAt(k);
      const torch::Tensor truth = t.Frame(k, alive);
      const torch::Tensor predicted = rollout.select(0, k).narrow(0, 0, alive);
      // Frozen: every particle left where it first appears.
      const torch::Tensor start = t.states.index({t.history + torch::tensor(std::vector<int64_t>(t.birth_frame.begin(), t.birth_frame.begin() + alive)),
                                                  torch::arange(alive)});
      errors[h].push_back((predicted - truth).norm(2, 1).mean().item<double>() / t.particle_spacing_m);
      frozen[h].push_back((start - truth).norm(2, 1).mean().item<double>() / t.particle_spacing_m);
      chamfer[h].push_back(Chamfer(predicted, truth) / t.particle_spacing_m);
      crowded_learned[h].push_back(CrowdedFraction(predicted, 0.5 * t.particle_spacing_m));
      crowded_truth[h].push_back(CrowdedFraction(truth, 0.5 * t.particle_spacing_m));
    }
  }
  const double components = std::max(1.0, count);
  report.one_step_mse = squared_error / components;
  if (simulator.Config().volume_state) report.one_step_volume_mse = squared_volume_error / (components / 2.0);
  report.one_step_rms_spacings = std::sqrt(squared_spacings / components);
  report.one_step_bulk_rms_spacings = std::sqrt(squared_bulk / components);
  report.one_step_smooth_rms_spacings = std::sqrt(squared_smooth / components);
  report.one_step_shuffled_smooth_rms_spacings = std::sqrt(squared_shuffled / components);
  for (size_t h = 0; h < horizons.size(); ++h) {
    HorizonError e;
    e.steps = horizons[h];
    auto mean_of = [](const std::vector<double>& v) {
      double s = 0.0;
      for (double x : v) s += x;
      return v.empty() ? 0.0 : s / v.size();
    };
    e.trajectory_errors_spacings = errors[h];
    e.mean_error_spacings = mean_of(errors[h]);
    e.median_error_spacings = Median(errors[h]);
    e.frozen_error_spacings = mean_of(frozen[h]);
    e.chamfer_spacings = mean_of(chamfer[h]);
    e.crowded_learned = mean_of(crowded_learned[h]);
    e.crowded_truth = mean_of(crowded_truth[h]);
    report.horizons.push_back(e);
  }
  return report;
}

Trajectory LearnedRolloutOfData(learned::LearnedSimulator& simulator, const Trajectory& data) {
  torch::NoGradGuard no_grad;
  const TrajectoryTensors t = ToTensors(data, simulator.Config().history);
  const int steps = t.Frames() - 1;
  const torch::Tensor rollout = RolloutFromData(simulator, t, 0, steps);
  Trajectory out = data;
  out.simulator = "learned";
  const auto positions = rollout.accessor<float, 3>();
  for (int k = 0; k <= steps; ++k) {
    for (int64_t i = 0; i < data.particle_count; ++i) {
      if (data.birth_frame[i] > k) continue;  // NaN before birth, as in the data
      const size_t index = (static_cast<size_t>(k) * data.particle_count + i) * 2;
      out.positions[index] = positions[k][i][0];
      out.positions[index + 1] = positions[k][i][1];
    }
  }
  return out;
}

std::string HorizonName(int steps) { return steps < 0 ? "end" : std::to_string(steps); }

nlohmann::json HorizonJson(int steps) { return steps < 0 ? nlohmann::json("end") : nlohmann::json(steps); }

double Median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

}  // namespace flowdesign::simulator::training
