// A design task evaluated in the ground-truth simulator (MPM): for sampling optimizers (CEM,
// random search) on request. No gradient; each value is a full MPM run on one thread, so a
// population is evaluated in parallel by the optimizer.
#pragma once

#include <atomic>

#include "design/parameterization.h"
#include "design/problem.h"
#include "objectives/objective.h"
#include "simulator/ground_truth/mpm_solver.h"
#include "simulator/learned/model_config.h"
#include "tasks/task.h"

namespace flowdesign::design {

// The ground-truth options that simulate the fluid a model was trained on.
simulator::MpmOptions GroundTruthFor(const simulator::learned::ModelConfig& model);

class GroundTruthProblem : public Problem {
 public:
  // `options` sets the fluid (GroundTruthFor(model)); its thread count is ignored.
  explicit GroundTruthProblem(const tasks::Task& task, const simulator::MpmOptions& options = {});
  int Dimension() const override { return parameterization_.Dimension(); }
  const std::vector<double>& LowerBounds() const override { return parameterization_.LowerBounds(); }
  const std::vector<double>& UpperBounds() const override { return parameterization_.UpperBounds(); }
  // The exact objective of an MPM rollout (NaN if the simulation fails).
  double Value(const std::vector<double>& x) const override;
  double ValueAndGradient(const std::vector<double>& x, std::vector<double>* gradient) const override;
  bool HasGradient() const override { return false; }
  long SimulatorSteps() const { return steps_; }
  const Parameterization& Params() const { return parameterization_; }

 private:
  tasks::Task task_;
  Parameterization parameterization_;
  objectives::Objective objective_;
  simulator::MpmOptions options_;
  mutable std::atomic<long> steps_{0};
};

}  // namespace flowdesign::design
