// L-BFGS through Ceres Solver's GradientProblemSolver, on the unconstrained variables z of a
// BoundedTransform.
#pragma once

#include "design/optimizer.h"

namespace flowdesign::design {

// A ceres::FirstOrderFunction evaluates the Problem at x(z) (value and gradient from one
// ValueAndGradient call; Problem::Value when Ceres asks for the value alone) and applies the
// chain rule. A non-finite value or gradient makes Evaluate return false, so Ceres' line search
// shrinks the step. Ceres options: line_search_direction_type LBFGS, max_lbfgs_rank =
// lbfgs_memory, max_num_iterations = the remaining iterations, Ceres' default tolerances,
// SILENT logging. An IterationCallback turns each Ceres iteration >= 1 into one record (Ceres'
// iteration 0 is the starting point) and stops the solve when on_iteration returns false.
//
// Resume is not exact: Ceres keeps no state that can be saved. A resumed run restarts Ceres
// from the state's best x with the remaining iterations (the curvature history is lost).
class LbfgsOptimizer final : public Optimizer {
 public:
  OptimizerKind kind() const override { return OptimizerKind::kLbfgs; }
  bool NeedsGradient() const override { return true; }
  void Run(OptimizerRun* run) const override;
};

}  // namespace flowdesign::design
