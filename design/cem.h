// The cross-entropy method: a Gaussian search distribution refit to the best samples.
#pragma once

#include "design/optimizer.h"

namespace flowdesign::design {

// Works in normalized coordinates u = (x - lower) / (upper - lower) in [0, 1] (a parameter with
// lower == upper stays at lower). Each iteration draws options.population samples
// u = clip(mean + std * N(0, 1), 0, 1) with a diagonal Gaussian; clipping puts samples that fall
// outside the box on its faces. The first iteration's mean is x0, its standard deviation
// options.initial_std, and its first sample is x0 itself. Samples are drawn serially from
// IterationGenerator(seed, iteration), then evaluated in parallel, so results do not depend on
// the thread count. The best ceil(elite_fraction * population) samples (ties: lower sample
// index first; non-finite values rank last and are never elite) give the new mean (their mean)
// and standard deviation: their sample standard deviation blended with the old one,
// std = std_smoothing * old + (1 - std_smoothing) * elite, floored at options.min_std. Smoothing
// only the standard deviation lets the mean travel several initial standard deviations along a
// slope before the distribution collapses (plain CEM halves it every iteration there).
// Resumable exactly: the state holds the mean and standard deviation.
class CemOptimizer final : public Optimizer {
 public:
  OptimizerKind kind() const override { return OptimizerKind::kCem; }
  bool NeedsGradient() const override { return false; }
  void Run(OptimizerRun* run) const override;
};

}  // namespace flowdesign::design
