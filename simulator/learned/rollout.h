// Differentiable rollouts of the learned simulator with per-step checkpointing: the forward
// pass keeps the particle positions of every step; the backward pass recomputes one step at a
// time and back-propagates through it, so memory grows with steps x particles, not with network
// activations. Where memory allows, the forward pass may also keep the activations of its first
// steps up to a fixed budget, and those steps are not recomputed (GradientOptions).
#pragma once

#include <vector>

#include <torch/torch.h>

#include "simulator/learned/learned_simulator.h"
#include "simulator/scene.h"
#include "simulator/trajectory.h"

namespace flowdesign::simulator::learned {

// Everything of a rollout that does not depend on the design.
struct RolloutSetup {
  tasks::Box domain;
  int steps = 0;
  int history = 0;
  // [history + steps + 1, particles, 2]: rows 0..history are frames -history..0. A particle
  // born (emitted) at frame b has its emission position at row history + b and, before it,
  // positions extrapolated backwards at its emission velocity; rows after its birth are
  // filled by the rollout.
  torch::Tensor initial_states;
  std::vector<int> birth_frame;  // non-decreasing; 0 for particles present at the start
  // For a model with a volume state: J of every particle [particles] at frame 0 or at its birth
  // (undefined: 1, fluid at rest).
  torch::Tensor initial_volume;
};

// Builds the setup of a scene: initial fluid with a velocity history at its initial velocity,
// emitted particles from the scene's emitters.
RolloutSetup MakeRolloutSetup(const Scene& scene, int history);

// How a rollout assumes a particle moved before it appeared: fills rows [0, history + b) of
// particle i (born at frame b = birth_frame[i]) in states [rows, n, 2] with its position at row
// history + b moved back by velocity_per_frame (2 values per particle, metres per frame).
void ExtrapolateBeforeBirth(torch::Tensor& states, int history, const std::vector<int>& birth_frame,
                            const std::vector<double>& velocity_per_frame);

// Obstacle particles along the capsules' core segments, no farther apart than `spacing`.
// Differentiable with respect to the capsules [K, 5].
torch::Tensor SampleObstacleParticles(const torch::Tensor& capsules, double spacing);
// The number of particles each capsule gets (fixed by its length at the start of a search).
std::vector<int64_t> ObstacleParticleCounts(const std::vector<tasks::Capsule>& capsules, double spacing);
torch::Tensor SampleObstacleParticles(const torch::Tensor& capsules, const std::vector<int64_t>& counts);

// How the backward pass runs. Pipelined: a second thread recomputes the steps (forward with
// autograd) while this one back-propagates through the ones before, so a gradient takes about
// forward + max(recompute, backward) instead of their sum when a core is free. Each side runs on
// one intra-op thread, whatever the caller's LibTorch thread count (which the forward pass uses).
// The gradient is bit-identical either way.
enum class Backward { kSerial, kPipelined };

// How a gradient through a rollout is computed.
struct GradientOptions {
  Backward backward = Backward::kSerial;
  // The forward pass keeps the autograd graphs of its first steps while they hold fewer than
  // this many bytes (LearnedSimulator::StepActivationBytes; so at most one step more), and the
  // backward pass back-propagates through them without recomputing them. A kept step costs
  // about 10% more in the forward pass and saves a whole recomputation: worth it with a serial
  // backward pass, not with a pipelined one (its recomputation runs on a core of its own).
  // 0: recompute every step. The gradient is bit-identical either way.
  int64_t kept_activation_bytes = 0;
};

// Fluid positions over time [steps + 1, particles, 2] (frame 0 first), differentiable with
// respect to `obstacles` [m, 2] and `capsules` [K, 5] through checkpointed backpropagation.
// With a volume state, *volumes (if given) receives J over time [steps + 1, particles] (not
// differentiable). Throws std::runtime_error if a position becomes non-finite.
torch::Tensor Rollout(LearnedSimulator& simulator, const RolloutSetup& setup,
                      const torch::Tensor& obstacles, const torch::Tensor& capsules,
                      const GradientOptions& gradient = {}, torch::Tensor* volumes = nullptr);

// A whole scene rolled out without gradients, as a Trajectory (for evaluation and pictures).
Trajectory RolloutTrajectory(LearnedSimulator& simulator, const Scene& scene);

}  // namespace flowdesign::simulator::learned
