#include "simulator/training/example.h"

#include <cmath>

namespace flowdesign::simulator::training {

Example MakeExample(const learned::LearnedSimulator& simulator, const TrajectoryTensors& t, int frame,
                    double noise_std, std::mt19937_64& rng, const torch::Device& device) {
  const int c = simulator.Config().history;
  const int64_t alive = t.AliveAt(frame);
  const torch::Tensor window = t.Rows(frame - c, c + 1, alive);
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
  // The target keeps the last input's position noise, so the model learns to cancel the
  // velocity noise rather than the position noise.
  const torch::Tensor last = noisy.select(0, c), previous = noisy.select(0, c - 1);
  const torch::Tensor acceleration = (next + noise.select(0, c)) - 2 * last + previous;
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
