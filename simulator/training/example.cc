#include "simulator/training/example.h"

#include <cmath>

namespace flowdesign::simulator::training {

torch::Tensor PushforwardWindow(learned::LearnedSimulator& simulator, const TrajectoryTensors& t, int frame,
                                int steps, const torch::Device& device, torch::Tensor* volume) {
  if (steps < 1 || steps > frame) {
    throw std::invalid_argument("a pushforward of " + std::to_string(steps) + " steps does not fit before frame " +
                                std::to_string(frame));
  }
  torch::NoGradGuard no_grad;
  const int c = simulator.Config().history;
  torch::Tensor volumes;
  const torch::Tensor predicted = RolloutFromData(simulator, t, frame - steps, steps, device, &volumes).to(torch::kCPU);
  // predicted row r is frame frame - steps + r; the window's row j is frame frame - c + j.
  torch::Tensor window = t.Rows(frame - c, c + 1, predicted.size(1)).clone();
  const int first_row = std::max(0, c - steps);
  window.narrow(0, first_row, c + 1 - first_row).copy_(predicted.narrow(0, steps - (c - first_row), c + 1 - first_row));
  if (volume != nullptr && volumes.numel() > 0) *volume = volumes.select(0, steps).narrow(0, 0, window.size(1)).to(torch::kCPU);
  return window;
}

torch::Tensor RestartedFrames(const GroundTruthRun& ground_truth, const TrajectoryTensors& t, int frame,
                              const torch::Tensor& window, const GroundTruthPhysics& physics, int frames) {
  if (!t.mpm_state.defined()) {
    throw std::invalid_argument("restarting the ground truth needs data with the ground truth's state "
                                "(generate it with \"record_mpm_state\": true in the recipe)");
  }
  const int64_t alive = window.size(1);
  const int c = static_cast<int>(window.size(0)) - 1;
  // The true velocities, not the window's: as with the plain target, the model should undo its
  // velocity errors (restarted with them, MPM carried them on, and a model fine-tuned so drifted
  // 1.7x as far as the default in 25 steps).
  const torch::Tensor states = t.mpm_state.select(0, frame).narrow(0, 0, alive).contiguous();
  const torch::Tensor last = window.select(0, c).contiguous();
  const auto xy = last.accessor<float, 2>();
  std::vector<Vec2> positions(alive);
  for (int64_t i = 0; i < alive; ++i) positions[i] = {xy[i][0], xy[i][1]};
  const float* state_data = states.data_ptr<float>();
  const std::vector<std::vector<Vec2>> run = ground_truth(
      t.RestartScene(), physics, positions, std::vector<float>(state_data, state_data + states.numel()), frames);
  torch::Tensor out = torch::empty({frames + 1, alive, 2});
  out[0] = last;
  for (int f = 0; f < frames; ++f) {
    float* out_data = out[f + 1].data_ptr<float>();
    for (int64_t i = 0; i < alive; ++i) {
      out_data[2 * i] = static_cast<float>(run[f][i].x);
      out_data[2 * i + 1] = static_cast<float>(run[f][i].y);
    }
  }
  return out;
}

torch::Tensor WindowNoise(int history, int64_t alive, double noise_std, std::mt19937_64& rng) {
  torch::Tensor noise = torch::zeros({history + 1, alive, 2});
  if (noise_std > 0.0) {
    // Random walk: velocity noise accumulates over the history (GNS), std noise_std at the end.
    std::normal_distribution<float> normal(0.0f, static_cast<float>(noise_std / std::sqrt(history)));
    torch::Tensor velocity_noise = torch::empty({history, alive, 2});
    float* data = velocity_noise.data_ptr<float>();
    for (int64_t i = 0; i < velocity_noise.numel(); ++i) data[i] = normal(rng);
    noise.narrow(0, 1, history).copy_(velocity_noise.cumsum(0).cumsum(0));
  }
  return noise;
}

ExampleDraw DrawExample(const TrajectoryTensors& t, int frame, int history, double noise_std, int pushforward_steps,
                        std::mt19937_64& rng, double volume_noise_std) {
  const int64_t alive = t.AliveAt(frame);
  ExampleDraw draw;
  draw.trajectory = &t;
  draw.frame = frame;
  draw.pushforward_steps = pushforward_steps;
  draw.noise = WindowNoise(history, alive, noise_std, rng);
  if (volume_noise_std > 0.0) {
    std::normal_distribution<float> normal(0.0f, static_cast<float>(volume_noise_std));
    draw.volume_noise = torch::empty({alive});
    float* data = draw.volume_noise.data_ptr<float>();
    for (int64_t i = 0; i < alive; ++i) data[i] = normal(rng);
  }
  return draw;
}

namespace {

// The draw's input window (ground truth or pushed forward), before its noise, on the CPU; with
// a volume state also J at its last frame, with its noise.
struct DrawnInput {
  torch::Tensor window, volume;
};
DrawnInput DrawnWindow(learned::LearnedSimulator& simulator, const ExampleDraw& draw, const torch::Device& device) {
  const int c = simulator.Config().history;
  const TrajectoryTensors& t = *draw.trajectory;
  const int64_t alive = draw.noise.size(1);
  DrawnInput input;
  input.window = draw.pushforward_steps > 0
                     ? PushforwardWindow(simulator, t, draw.frame, draw.pushforward_steps, device, &input.volume)
                     : t.Rows(draw.frame - c, c + 1, alive);
  if (simulator.Config().volume_state) {
    if (!input.volume.defined()) input.volume = t.Volume(draw.frame, alive);
    if (draw.volume_noise.defined()) input.volume = input.volume + draw.volume_noise;
  }
  return input;
}

// The ground truth's change of J from the draw's frame over `frames` frames [frames + 1, alive]
// (row 0 zero): what J should do from the input's value, as the plain target's positions.
torch::Tensor VolumeChanges(const ExampleDraw& draw, int frames, int64_t alive) {
  const TrajectoryTensors& t = *draw.trajectory;
  const torch::Tensor start = t.Volume(draw.frame, alive);
  std::vector<torch::Tensor> rows;
  for (int k = 0; k <= frames; ++k) rows.push_back(t.Volume(draw.frame + k, alive) - start);
  return torch::stack(rows);
}

// The frames [frames + 1, alive, 2] that the drawn window (before noise) should continue into,
// row 0 at its last frame: the ground truth's own, or for a restart draw the ground truth's run
// from the window's state. Noise is not restarted from: the target keeps the noise's position
// offset and undoes its velocity exactly as the plain target does (so with noise a ground-truth
// window gets the plain target).
torch::Tensor ReferenceFrames(learned::LearnedSimulator& simulator, const ExampleDraw& draw, const torch::Tensor& window,
                              int frames) {
  const TrajectoryTensors& t = *draw.trajectory;
  return draw.restart != nullptr
             ? RestartedFrames(*draw.restart, t, draw.frame, window, simulator.Config().physics, frames)
             : t.Rows(draw.frame, frames + 1, window.size(1));
}

}  // namespace

Example MakeExample(learned::LearnedSimulator& simulator, const ExampleDraw& draw, const torch::Device& device) {
  const int c = simulator.Config().history;
  const TrajectoryTensors& t = *draw.trajectory;
  const int64_t alive = draw.noise.size(1);
  const DrawnInput input = DrawnWindow(simulator, draw, device);
  const torch::Tensor& window = input.window;
  const torch::Tensor noisy = window + draw.noise;
  // The target keeps the last input's position error (noise, or drift without a restart), so
  // the model learns to cancel velocity errors rather than position errors (a fluid particle
  // cannot know where it should be, only how its neighbourhood should move).
  const torch::Tensor last = noisy.select(0, c), previous = noisy.select(0, c - 1);
  const torch::Tensor reference = ReferenceFrames(simulator, draw, window, 1);
  const torch::Tensor next = reference[1] + (last - reference[0]);
  const torch::Tensor acceleration = next - 2 * last + previous;
  const learned::Normalization& n = simulator.Norm();
  const torch::Tensor mean = torch::tensor({static_cast<float>(n.acceleration_mean[0]), static_cast<float>(n.acceleration_mean[1])});
  const torch::Tensor std = torch::tensor({static_cast<float>(n.acceleration_std[0]), static_cast<float>(n.acceleration_std[1])});
  Example example;
  example.fluid = alive;
  example.target = (acceleration - mean) / std;
  if (simulator.Config().volume_state) {
    const torch::Tensor change = VolumeChanges(draw, 1, alive)[1];
    example.target = torch::cat({example.target, ((change - n.volume_change_mean) / n.volume_change_std).unsqueeze(1)}, 1);
  }
  example.target = example.target.to(device);
  // The graph is built on the CPU (where the neighbour search runs) and then moved.
  const torch::Tensor full = torch::cat({noisy, t.obstacles.unsqueeze(0).expand({c + 1, -1, -1})}, 1);
  example.graph = simulator.BuildGraph(full, static_cast<int>(alive), t.domain, input.volume).To(device);
  return example;
}

Example MakeExample(learned::LearnedSimulator& simulator, const TrajectoryTensors& t, int frame, double noise_std,
                    std::mt19937_64& rng, const torch::Device& device, int pushforward_steps) {
  return MakeExample(simulator, DrawExample(t, frame, simulator.Config().history, noise_std, pushforward_steps, rng),
                     device);
}

UnrolledExample MakeUnrolledExample(learned::LearnedSimulator& simulator, const ExampleDraw& draw, int unroll_steps,
                                    const torch::Device& device) {
  const TrajectoryTensors& t = *draw.trajectory;
  const int frame = draw.frame;
  const int64_t alive = draw.noise.size(1);
  // Unroll only while no particle is born and the data lasts: the window holds a fixed set.
  int steps = 1;
  while (steps < unroll_steps && frame + steps + 1 < t.Frames() && t.AliveAt(frame + steps) == alive) ++steps;
  UnrolledExample example;
  const DrawnInput input = DrawnWindow(simulator, draw, device);
  example.window = (input.window + draw.noise).to(device);
  example.truth = ReferenceFrames(simulator, draw, input.window, steps).to(device);
  if (simulator.Config().volume_state) {
    example.volume = input.volume.to(device);
    example.volume_truth = (input.volume.unsqueeze(0) + VolumeChanges(draw, steps, alive)).to(device);
  }
  example.obstacles = t.obstacles.to(device);
  example.capsules = t.capsules.to(device);
  example.domain = t.domain;
  example.fluid = alive;
  example.steps = steps;
  return example;
}

UnrolledExample MakeUnrolledExample(learned::LearnedSimulator& simulator, const TrajectoryTensors& t, int frame,
                                    int unroll_steps, double noise_std, std::mt19937_64& rng,
                                    const torch::Device& device, int pushforward_steps) {
  return MakeUnrolledExample(
      simulator, DrawExample(t, frame, simulator.Config().history, noise_std, pushforward_steps, rng), unroll_steps,
      device);
}

torch::Tensor UnrolledLoss(learned::LearnedSimulator& simulator, const UnrolledExample& e, bool huber,
                           double huber_delta) {
  const learned::Normalization& n = simulator.Norm();
  const torch::Tensor std = torch::tensor({static_cast<float>(n.acceleration_std[0]), static_cast<float>(n.acceleration_std[1])},
                                          e.window.options());
  const int c = static_cast<int>(e.window.size(0)) - 1;
  torch::Tensor window = e.window;
  torch::Tensor total = torch::zeros({}, e.window.options());
  namespace F = torch::nn::functional;
  const bool with_volume = simulator.Config().volume_state;
  torch::Tensor volume = e.volume;
  for (int k = 0; k < e.steps; ++k) {
    torch::Tensor next_volume;  // set with a volume state only
    const torch::Tensor next = simulator.Step(window, e.obstacles, e.capsules, e.domain, volume, &next_volume);
    // As in the one-step loss: from wherever the model has put a particle, the step should
    // move it by the ground truth's displacement (the true velocity), so a lost velocity is an
    // error at every later step, and its gradient reaches the steps that lost it.
    const torch::Tensor last = window.select(0, c);
    const torch::Tensor target = last + (e.truth[k + 1] - e.truth[k]);
    torch::Tensor error = (next - target) / std;
    if (with_volume) {
      // J likewise: from the model's J, change as the ground truth's did.
      const torch::Tensor volume_target = volume + (e.volume_truth[k + 1] - e.volume_truth[k]);
      error = torch::cat({error, ((next_volume - volume_target) / n.volume_change_std).unsqueeze(1)}, 1);
      volume = next_volume;
    }
    total = total + (huber ? F::huber_loss(error, torch::zeros_like(error),
                                           F::HuberLossFuncOptions().delta(huber_delta).reduction(torch::kSum))
                           : error.pow(2).sum());
    window = torch::cat({window.narrow(0, 1, c), next.unsqueeze(0)}, 0);
  }
  return total;
}

}  // namespace flowdesign::simulator::training
