// Random search: uniform samples within the bounds.
#pragma once

#include "design/optimizer.h"

namespace flowdesign::design {

// Each iteration draws options.population points uniformly in the box (the very first sample
// is x0), serially from IterationGenerator(seed, iteration), and evaluates them in parallel;
// results do not depend on the thread count. A record's x is the best sample of its iteration.
// Resumable exactly: besides the best point, it has no state.
class RandomSearchOptimizer final : public Optimizer {
 public:
  OptimizerKind kind() const override { return OptimizerKind::kRandom; }
  bool NeedsGradient() const override { return false; }
  void Run(OptimizerRun* run) const override;
};

}  // namespace flowdesign::design
