// One training example: the graph of a (possibly noisy) input window taken from a ground-truth
// trajectory, with the normalized acceleration the model should predict for its fluid particles.
// Shared by training (with noise) and evaluation (without).
#pragma once

#include <random>
#include <vector>

#include <torch/torch.h>

#include "simulator/ground_truth_step.h"
#include "simulator/learned/learned_simulator.h"
#include "simulator/training/dataset.h"

namespace flowdesign::simulator::training {

struct Example {
  learned::StepGraph graph;
  torch::Tensor target;  // [fluid, 2], normalized acceleration (with a volume state [fluid, 3]: + J's change)
  int64_t fluid = 0;
};

using simulator::GroundTruthRun;

// What one example is: everything drawn from the training step's generator. Drawing a batch
// one example after the other and then building the examples in any order or in parallel
// gives the same examples as building each right after its draw.
struct ExampleDraw {
  const TrajectoryTensors* trajectory = nullptr;
  int frame = 0;               // the window ends here
  int pushforward_steps = 0;   // 0: the window is ground truth
  torch::Tensor noise;         // [history + 1, particles alive at frame, 2], added to the window
  torch::Tensor volume_noise;  // [particles alive at frame], added to J's input; undefined: none
  // Set: the target follows the ground truth's run from the window's own last positions before
  // noise (MPM restarted there with the trajectory's recorded velocity, J and C of the frame)
  // instead of the ground truth's frames kept at the window's offset. The noise is treated as
  // always (its offset kept, its velocity undone).
  const GroundTruthRun* restart = nullptr;
};
// GNS random-walk position noise for a window (zeros without noise): the velocity noise
// accumulates over the history to std noise_std metres at the last input. Draws from `rng`
// only when noise_std > 0.
torch::Tensor WindowNoise(int history, int64_t alive, double noise_std, std::mt19937_64& rng);
// volume_noise_std > 0 also draws Gaussian noise for the input J (after the window's noise).
ExampleDraw DrawExample(const TrajectoryTensors& t, int frame, int history, double noise_std, int pushforward_steps,
                        std::mt19937_64& rng, double volume_noise_std = 0.0);

// The window ending at `frame` (history + 1 rows) and the target acceleration towards frame + 1.
// noise_std > 0 adds GNS random-walk noise to the input velocities (std noise_std metres at the
// last input); `rng` is used only then. pushforward_steps > 0 (at most `frame`) replaces the
// window's last frames by the model's own rollout of that many steps from the ground truth at
// frame - pushforward_steps, so the model also learns from the states it drifts into.
Example MakeExample(learned::LearnedSimulator& simulator, const TrajectoryTensors& t, int frame, double noise_std,
                    std::mt19937_64& rng, const torch::Device& device, int pushforward_steps = 0);
// The same from a draw. Safe to call from several threads at once (the pushforward rollouts
// only read the network).
Example MakeExample(learned::LearnedSimulator& simulator, const ExampleDraw& draw, const torch::Device& device);

// An example for a loss over several steps of the model's own rollout (`unroll_steps`): the
// input window as in MakeExample and the ground truth of the frames the rollout should follow
// (with a restart draw: the ground truth's run from the window's last state).
struct UnrolledExample {
  torch::Tensor window;     // [history + 1, fluid, 2]
  torch::Tensor truth;      // [steps + 1, fluid, 2]: frames frame .. frame + steps
  torch::Tensor volume;        // with a volume state: the input J [fluid]
  torch::Tensor volume_truth;  // and the ground truth's J at frames frame .. frame + steps [steps + 1, fluid]
  torch::Tensor obstacles;  // [m, 2]
  torch::Tensor capsules;   // [K, 5]
  tasks::Box domain;
  int64_t fluid = 0;
  int steps = 0;            // unroll_steps, fewer where particles are born or the data ends
};
UnrolledExample MakeUnrolledExample(learned::LearnedSimulator& simulator, const TrajectoryTensors& t, int frame,
                                    int unroll_steps, double noise_std, std::mt19937_64& rng,
                                    const torch::Device& device, int pushforward_steps = 0);
UnrolledExample MakeUnrolledExample(learned::LearnedSimulator& simulator, const ExampleDraw& draw, int unroll_steps,
                                    const torch::Device& device);
// The summed (Huber or squared) error, in normalized acceleration units, of every step of the
// model's rollout (`Step`, projections included) from the example's window against the ground
// truth's displacement (with a volume state also J's change against the ground truth's, in
// normalized units); differentiable through the whole rollout. For one step without
// projections it equals the one-step loss.
torch::Tensor UnrolledLoss(learned::LearnedSimulator& simulator, const UnrolledExample& example, bool huber,
                           double huber_delta);

// The ground truth's run [frames + 1, alive, 2] (row 0: the window's last positions) from the
// last positions of the window [history + 1, alive, 2] ending at `frame`: MPM restarted there
// with the trajectory's recorded state at `frame` (the true velocities, J and C). From the ground
// truth's own window it is the data's frames frame .. frame + frames.
torch::Tensor RestartedFrames(const GroundTruthRun& ground_truth, const TrajectoryTensors& t, int frame,
                              const torch::Tensor& window, const GroundTruthPhysics& physics, int frames);

// The input window ending at `frame` [history + 1, particles alive at frame, 2], whose frames
// after frame - steps come from a learned rollout (no gradient) started there; with a volume
// state *volume (if given) receives that rollout's J at `frame`.
torch::Tensor PushforwardWindow(learned::LearnedSimulator& simulator, const TrajectoryTensors& t, int frame,
                                int steps, const torch::Device& device, torch::Tensor* volume = nullptr);

}  // namespace flowdesign::simulator::training
