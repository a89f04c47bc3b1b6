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
// last input); `rng` is used only then. pushforward_steps > 0 (at most `frame`) replaces the
// window's last frames by the model's own rollout of that many steps from the ground truth at
// frame - pushforward_steps, so the model also learns from the states it drifts into.
Example MakeExample(learned::LearnedSimulator& simulator, const TrajectoryTensors& t, int frame, double noise_std,
                    std::mt19937_64& rng, const torch::Device& device, int pushforward_steps = 0);

// The input window ending at `frame` [history + 1, particles alive at frame, 2], whose frames
// after frame - steps come from a learned rollout (no gradient) started there.
torch::Tensor PushforwardWindow(learned::LearnedSimulator& simulator, const TrajectoryTensors& t, int frame,
                                int steps, const torch::Device& device);

}  // namespace flowdesign::simulator::training
