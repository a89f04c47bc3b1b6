#include "design/design_problem.h"

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "simulator/scene.h"
#include "tasks/tool_geometry.h"

namespace flowdesign::design {
namespace {

bool Close(double a, double b) { return std::abs(a - b) <= 1e-9 * std::max(std::abs(a), std::abs(b)); }

}  // namespace

void CheckModelMatchesTask(const simulator::learned::ModelConfig& model, const tasks::Task& task,
                           const std::string& model_name) {
  if (!Close(model.particle_spacing_m, task.particle_spacing_m) || !Close(model.frame_dt_s, task.horizon.frame_dt_s) ||
      !Close(model.gravity_y, task.gravity.y) || task.gravity.x != 0.0) {
    std::ostringstream message;
    message << model_name << ": the model was trained for particle spacing " << model.particle_spacing_m
            << " m, frame dt " << model.frame_dt_s << " s and gravity (0, " << model.gravity_y << "); task '"
            << task.name << "' uses " << task.particle_spacing_m << " m, " << task.horizon.frame_dt_s << " s and ("
            << task.gravity.x << ", " << task.gravity.y << ")";
    throw std::invalid_argument(message.str());
  }
}

DesignProblem::DesignProblem(const tasks::Task& task, simulator::learned::LearnedSimulator& simulator,
                             const objectives::ObjectiveOptions& objective_options)
    : task_(task),
      simulator_(simulator),
      parameterization_(task),
      objective_(task, objective_options),
      spacing_(task.particle_spacing_m) {
  // The fluid's start must not depend on the design: build it with the walls only.
  tasks::Task fluid_only = task;
  fluid_only.tools.clear();
  const simulator::Scene scene = simulator::BuildScene(fluid_only, {});
  setup_ = simulator::learned::MakeRolloutSetup(scene, simulator.Config().history);
  obstacle_counts_ = simulator::learned::ObstacleParticleCounts(
      tasks::SolidCapsules(task, parameterization_.Initial()), spacing_);
}

torch::Tensor DesignProblem::CheckedParameters(const std::vector<double>& x) const {
  if (!parameterization_.WithinBounds(x)) {
    std::ostringstream message;
    message << "design parameters outside their bounds (never simulated):";
    for (size_t i = 0; i < x.size(); ++i) {
      if (!(x[i] >= LowerBounds()[i] && x[i] <= UpperBounds()[i])) {
        message << " x[" << i << "] = " << x[i] << " not in [" << LowerBounds()[i] << ", " << UpperBounds()[i] << "]";
      }
    }
    throw std::out_of_range(message.str());
  }
  return torch::tensor(x, torch::kFloat64);
}

torch::Tensor DesignProblem::RolloutPositions(const torch::Tensor& capsules) const {
  ++rollouts_;
  const torch::Tensor obstacles = simulator::learned::SampleObstacleParticles(capsules, obstacle_counts_);
  return simulator::learned::Rollout(simulator_, setup_, obstacles, capsules,
                                     {backward_.load(), kept_activation_bytes_.load()});
}

double DesignProblem::Value(const std::vector<double>& x) const {
  const torch::Tensor parameters = CheckedParameters(x);
  torch::NoGradGuard no_grad;
  steps_ += setup_.steps;
  try {
    const torch::Tensor positions = RolloutPositions(parameterization_.Capsules(parameters).to(torch::kFloat32));
    return objective_.Smooth(positions, setup_.birth_frame, parameters.to(torch::kFloat32)).item<double>();
  } catch (const std::runtime_error&) {  // a diverged rollout: let the optimizer step back
    return std::numeric_limits<double>::quiet_NaN();
  }
}

double DesignProblem::ValueAndGradient(const std::vector<double>& x, std::vector<double>* gradient) const {
  torch::Tensor parameters = CheckedParameters(x).requires_grad_(true);
  ++gradients_;
  steps_ += 3L * setup_.steps;
  gradient->assign(x.size(), std::numeric_limits<double>::quiet_NaN());
  try {
    const torch::Tensor positions = RolloutPositions(parameterization_.Capsules(parameters).to(torch::kFloat32));
    const torch::Tensor value = objective_.Smooth(positions, setup_.birth_frame, parameters.to(torch::kFloat32));
    value.backward();
    const torch::Tensor g = parameters.grad();
    for (size_t i = 0; i < x.size(); ++i) (*gradient)[i] = g.defined() ? g[i].item<double>() : 0.0;
    return value.item<double>();
  } catch (const std::runtime_error&) {
    return std::numeric_limits<double>::quiet_NaN();
  }
}

double DesignProblem::Displacement(const std::vector<double>& from, const std::vector<double>& to) const {
  return tasks::SolidDisplacement(task_, from, to);
}

LearnedEvaluation DesignProblem::Evaluate(const std::vector<double>& x) const {
  const torch::Tensor parameters = CheckedParameters(x);
  torch::NoGradGuard no_grad;
  steps_ += setup_.steps;
  LearnedEvaluation evaluation;
  evaluation.positions = RolloutPositions(parameterization_.Capsules(parameters).to(torch::kFloat32));
  evaluation.smooth = objective_.Smooth(evaluation.positions, setup_.birth_frame, parameters.to(torch::kFloat32)).item<double>();
  evaluation.exact = objective_.Exact(evaluation.positions, setup_.birth_frame, x);
  return evaluation;
}

}  // namespace flowdesign::design
