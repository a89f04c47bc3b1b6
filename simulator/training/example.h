// One training example: the graph of a (possibly noisy) input window taken from a ground-truth
// trajectory, with the normalized acceleration the model should predict for its fluid particles.
// Shared by training (with noise) and evaluation (without).
#pragma once

#include <random>

#include <torch/torch.h>

#include "simulator/learned/learned_simulator.h"
#include "simulator/training/dataset.h"

namespace flowdesign::simulator::training {

struct Example {
  learned::StepGraph graph;
  torch::Tensor target;  // [fluid, 2], normalized acceleration
  int64_t fluid = 0;
};

// The window ending at `frame` (history + 1 rows) and the target acceleration towards frame + 1.
// noise_std > 0 adds GNS random-walk noise to the input velocities (std noise_std metres at the
// last input); `rng` is used only then.
Example MakeExample(const learned::LearnedSimulator& simulator, const TrajectoryTensors& t, int frame,
                    double noise_std, std::mt19937_64& rng, const torch::Device& device);

}  // namespace flowdesign::simulator::training
