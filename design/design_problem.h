// A design task as an optimization problem through the learned simulator: parameters ->
// tool geometry -> obstacle particles -> learned rollout -> smooth objective (and its gradient
// through the whole rollout, with per-step checkpointing).
#pragma once

#include <atomic>
#include <vector>

#include <torch/torch.h>

#include "design/parameterization.h"
#include "design/problem.h"
#include "objectives/objective.h"
#include "simulator/learned/rollout.h"
#include "tasks/task.h"

namespace flowdesign::design {

// Throws std::invalid_argument when the model was trained for another particle spacing, frame
// step or gravity than the task uses.
void CheckModelMatchesTask(const simulator::learned::ModelConfig& model, const tasks::Task& task,
                           const std::string& model_name);

struct LearnedEvaluation {
  double smooth = 0.0;      // what the optimizers minimize
  double exact = 0.0;       // the exact objective (counts, not sigmoids)
  torch::Tensor positions;  // [frames + 1, particles, 2]
};

class DesignProblem : public Problem {
 public:
  // `simulator` must outlive the problem. Safe to evaluate from several threads at once.
  DesignProblem(const tasks::Task& task, simulator::learned::LearnedSimulator& simulator,
                const objectives::ObjectiveOptions& objective_options = {});

  int Dimension() const override { return parameterization_.Dimension(); }
  const std::vector<double>& LowerBounds() const override { return parameterization_.LowerBounds(); }
  const std::vector<double>& UpperBounds() const override { return parameterization_.UpperBounds(); }
  // The smooth objective of a learned rollout. A diverged rollout (non-finite positions) gives NaN.
  double Value(const std::vector<double>& x) const override;
  double ValueAndGradient(const std::vector<double>& x, std::vector<double>* gradient) const override;
  double Displacement(const std::vector<double>& from, const std::vector<double>& to) const override;

  // How gradient evaluations run their backward pass (an execution setting: the values do not
  // change). RunSearch pipelines it when each search has a spare core and else keeps
  // activations in memory.
  void SetGradientOptions(const simulator::learned::GradientOptions& options) const {
    backward_ = options.backward;
    kept_activation_bytes_ = options.kept_activation_bytes;
  }

  // A learned rollout of x with both objective versions, for reports and pictures.
  LearnedEvaluation Evaluate(const std::vector<double>& x) const;

  const Parameterization& Params() const { return parameterization_; }
  const objectives::Objective& Objective() const { return objective_; }
  const std::vector<int>& BirthFrames() const { return setup_.birth_frame; }
  int Frames() const { return setup_.steps; }
  // Budget counters: learned rollouts (values), gradient evaluations, simulator steps (a
  // gradient evaluation counts its forward, recomputed and backward steps as 3 per frame, also
  // where kept activations spare the recomputation).
  long Rollouts() const { return rollouts_; }
  long GradientEvaluations() const { return gradients_; }
  long SimulatorSteps() const { return steps_; }

 private:
  torch::Tensor CheckedParameters(const std::vector<double>& x) const;
  torch::Tensor RolloutPositions(const torch::Tensor& capsules) const;

  tasks::Task task_;
  simulator::learned::LearnedSimulator& simulator_;
  Parameterization parameterization_;
  objectives::Objective objective_;
  simulator::learned::RolloutSetup setup_;
  std::vector<int64_t> obstacle_counts_;
  double spacing_ = 0.0;
  mutable std::atomic<long> rollouts_{0}, gradients_{0}, steps_{0};
  // GradientOptions as two atomics (one of 16 bytes would need libatomic).
  mutable std::atomic<simulator::learned::Backward> backward_{simulator::learned::Backward::kSerial};
  mutable std::atomic<int64_t> kept_activation_bytes_{0};
};

}  // namespace flowdesign::design
