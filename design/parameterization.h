// Design parameters -> solid geometry, differentiably (LibTorch). The flat parameter vector
// holds every tool's parameters in task order, in natural units: chain joint angles in degrees
// (each relative to the previous segment), ramp centre x, y in metres and angle in degrees.
// Walls are fixed capsules; tools follow the parameters. The double-precision twin of this
// mapping is tasks::SolidCapsules; a test keeps them in agreement.
#pragma once

#include <vector>

#include <torch/torch.h>

#include "tasks/task.h"

namespace flowdesign::design {

class Parameterization {
 public:
  explicit Parameterization(const tasks::Task& task);

  int Dimension() const { return static_cast<int>(lower_.size()); }
  const std::vector<double>& LowerBounds() const { return lower_; }
  const std::vector<double>& UpperBounds() const { return upper_; }
  const std::vector<double>& Initial() const { return initial_; }
  // True if every parameter lies within its bounds (with a relative tolerance of 1e-9).
  bool WithinBounds(const std::vector<double>& x) const;

  // Capsules [walls + tool segments, 5] = (ax, ay, bx, by, radius) for parameters [Dimension()],
  // in the parameters' dtype, differentiable with respect to them.
  torch::Tensor Capsules(const torch::Tensor& parameters) const;
  int CapsuleCount() const { return wall_capsules_ + tool_capsules_; }

 private:
  std::vector<tasks::Tool> tools_;
  torch::Tensor walls_;  // [wall capsules, 5], double
  int wall_capsules_ = 0;
  int tool_capsules_ = 0;
  std::vector<double> lower_, upper_, initial_;
};

// Joint positions of a chain [segments + 1, 2] for joint angles in degrees [segments].
torch::Tensor ChainPointsTensor(const tasks::ChainTool& chain, const torch::Tensor& angles_deg);

}  // namespace flowdesign::design
