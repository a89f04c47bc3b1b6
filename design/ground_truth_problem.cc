#include "design/ground_truth_problem.h"

#include <limits>
#include <stdexcept>

#include "simulator/ground_truth/mpm_solver.h"

namespace flowdesign::design {

simulator::MpmOptions GroundTruthFor(const simulator::learned::ModelConfig& model) {
  simulator::MpmOptions options;
  options.physics = model.physics;
  return options;
}

GroundTruthProblem::GroundTruthProblem(const tasks::Task& task, const simulator::MpmOptions& options)
    : task_(task), parameterization_(task), objective_(task), options_(options) {
  options_.threads = 1;  // populations run in parallel instead
}

double GroundTruthProblem::Value(const std::vector<double>& x) const {
  if (!parameterization_.WithinBounds(x)) throw std::out_of_range("design parameters outside their bounds (never simulated)");
  steps_ += task_.horizon.frames;
  try {
    simulator::Trajectory t = simulator::SimulateMpm(simulator::BuildScene(task_, x), options_);
    const torch::Tensor positions =
        torch::from_blob(t.positions.data(), {t.frame_count, t.particle_count, 2}, torch::kFloat32);
    return objective_.Exact(positions, t.birth_frame, x);
  } catch (const std::runtime_error&) {
    return std::numeric_limits<double>::quiet_NaN();
  }
}

double GroundTruthProblem::ValueAndGradient(const std::vector<double>&, std::vector<double>*) const {
  throw std::logic_error("the ground-truth simulator gives no gradients; use cem or random");
}

}  // namespace flowdesign::design
