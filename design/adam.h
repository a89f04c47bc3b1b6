// Adam (Kingma & Ba, 2015) on the unconstrained variables z of a BoundedTransform.
#pragma once

#include "design/optimizer.h"

namespace flowdesign::design {

// One Problem::ValueAndGradient per iteration at x(z), then one Adam step on z with
// options.learning_rate, adam_beta1, adam_beta2, adam_epsilon. Tracks the best x seen.
// A non-finite value or gradient leaves the moments untouched and halves the previous step
// (z goes back halfway towards the last finite point); at the very first point it stops with
// OptimizerTermination::kFailure. Resumable exactly: the state holds z, both moments, the step
// count and the last step.
class AdamOptimizer final : public Optimizer {
 public:
  OptimizerKind kind() const override { return OptimizerKind::kAdam; }
  bool NeedsGradient() const override { return true; }
  void Run(OptimizerRun* run) const override;
};

}  // namespace flowdesign::design
