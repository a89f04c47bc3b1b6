#include "simulator/training/example.h"

#include <cmath>

namespace flowdesign::simulator::training {

torch::Tensor PushforwardWindow(learned::LearnedSimulator& simulator, const TrajectoryTensors& t, int frame,
                                int steps, const torch::Device& device) {
  if (steps < 1 || steps > frame) {
    throw std::invalid_argument("a pushforward of " + std::to_string(steps) + " steps does not fit before frame " +
                                std::to_string(frame));
  }
  torch::NoGradGuard no_grad;
  const int c = simulator.Config().history;
  const torch::Tensor predicted = RolloutFromData(simulator, t, frame - steps, steps, device).to(torch::kCPU);
  // predicted row r is frame frame - steps + r; the window's row j is frame frame - c + j.
  torch::Tensor window = t.Rows(frame - c, c + 1, predicted.size(1)).clone();
  const int first_row = std::max(0, c - steps);
  window.narrow(0, first_row, c + 1 - first_row).copy_(predicted.narrow(0, steps - (c - first_row), c + 1 - first_row));
  return window;
}

Example MakeExample(learned::LearnedSimulator& simulator, const TrajectoryTensors& t, int frame, double noise_std,
                    std::mt19937_64& rng, const torch::Device& device, int pushforward_steps) {
  const int c = simulator.Config().history;
  const int64_t alive = t.AliveAt(frame);
  const torch::Tensor truth = t.Rows(frame - c, c + 1, alive);
  const torch::Tensor window =
      pushforward_steps > 0 ? PushforwardWindow(simulator, t, frame, pushforward_steps, device) : truth;
  const torch::Tensor next = t.Frame(frame + 1, alive);
  torch::Tensor noise = torch::zeros({c + 1, alive, 2});
  if (noise_std > 0.0) {
    // Random walk: velocity noise accumulates over the history (GNS), std noise_std at the end.
    std::normal_distribution<float> normal(0.0f, static_cast<float>(noise_std / std::sqrt(c)));
    torch::Tensor velocity_noise = torch::empty({c, alive, 2});
    float* data = velocity_noise.data_ptr<float>();
    for (int64_t i = 0; i < velocity_noise.numel(); ++i) data[i] = normal(rng);
    noise.narrow(0, 1, c).copy_(velocity_noise.cumsum(0).cumsum(0));
  }
  const torch::Tensor noisy = window + noise;
  // The target keeps the last input's position error (noise or drift), so the model learns to
  // cancel velocity errors rather than position errors (a fluid particle cannot know where it
  // should be, only how its neighbourhood should move).
  const torch::Tensor last = noisy.select(0, c), previous = noisy.select(0, c - 1);
  const torch::Tensor acceleration = (next + (last - truth.select(0, c))) - 2 * last + previous;
  const learned::Normalization& n = simulator.Norm();
  const torch::Tensor mean = torch::tensor({static_cast<float>(n.acceleration_mean[0]), static_cast<float>(n.acceleration_mean[1])});
  const torch::Tensor std = torch::tensor({static_cast<float>(n.acceleration_std[0]), static_cast<float>(n.acceleration_std[1])});
  Example example;
  example.fluid = alive;
  example.target = ((acceleration - mean) / std).to(device);
  const torch::Tensor full = torch::cat({noisy, t.obstacles.unsqueeze(0).expand({c + 1, -1, -1})}, 1).to(device);
  example.graph = simulator.BuildGraph(full, static_cast<int>(alive), t.domain);
  return example;
}

}  // namespace flowdesign::simulator::training
