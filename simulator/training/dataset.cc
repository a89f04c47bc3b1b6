#include "simulator/training/dataset.h"

#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "simulator/data_layout.h"
#include "tasks/checksum.h"
#include "tasks/file_util.h"

namespace flowdesign::simulator::training {

int64_t TrajectoryTensors::AliveAt(int frame) const {
  return std::upper_bound(birth_frame.begin(), birth_frame.end(), frame) - birth_frame.begin();
}

Scene TrajectoryTensors::RestartScene() const {
  Scene scene;
  scene.domain = domain;
  scene.gravity = gravity;
  scene.particle_spacing_m = particle_spacing_m;
  scene.frame_dt_s = frame_dt_s;
  scene.frames = 1;
  scene.solids = solids;
  scene.wall_capsule_count = wall_capsule_count;
  return scene;
}

TrajectoryTensors ToTensors(const Trajectory& trajectory, int history) {
  TrajectoryTensors t;
  t.history = history;
  const int64_t n = trajectory.particle_count;
  t.states = torch::empty({history + trajectory.frame_count, n, 2});
  t.states.narrow(0, history, trajectory.frame_count)
      .copy_(torch::from_blob(const_cast<float*>(trajectory.positions.data()), {trajectory.frame_count, n, 2},
                              torch::kFloat32));
  t.birth_frame.assign(trajectory.birth_frame.begin(), trajectory.birth_frame.end());
  std::vector<double> velocity_per_frame;
  for (float v : trajectory.birth_velocity) velocity_per_frame.push_back(v * trajectory.frame_dt_s);
  learned::ExtrapolateBeforeBirth(t.states, history, t.birth_frame, velocity_per_frame);
  t.capsules = learned::CapsuleTensor(trajectory.solids);
  t.obstacles = learned::SampleObstacleParticles(t.capsules, trajectory.particle_spacing_m);
  t.domain = trajectory.domain;
  t.particle_spacing_m = trajectory.particle_spacing_m;
  t.frame_dt_s = trajectory.frame_dt_s;
  t.solids = trajectory.solids;
  t.wall_capsule_count = trajectory.wall_capsule_count;
  t.gravity = trajectory.gravity;
  if (!trajectory.mpm_state.empty()) {
    t.mpm_state = torch::from_blob(const_cast<float*>(trajectory.mpm_state.data()),
                                   {trajectory.frame_count, n, kMpmStateWidth}, torch::kFloat32)
                      .clone();
  }
  return t;
}

std::string ScenesFingerprint(const std::vector<TrajectoryTensors>& trajectories) {
  tasks::Fnv1a64 hash;
  const auto add_tensor = [&](const torch::Tensor& t) {
    const torch::Tensor values = t.to(torch::kFloat32).contiguous();
    hash.Add(values.data_ptr(), values.numel() * sizeof(float));
  };
  for (const TrajectoryTensors& t : trajectories) {
    const double numbers[] = {t.frame_dt_s, t.particle_spacing_m, t.domain.min.x, t.domain.min.y,
                              t.domain.max.x, t.domain.max.y};
    hash.Add(numbers, sizeof numbers);
    hash.Add(t.birth_frame.data(), t.birth_frame.size() * sizeof(int));
    add_tensor(t.capsules);
    add_tensor(t.states.select(0, t.history));  // frame 0 (a later-born particle: its birth, extrapolated back)
  }
  return hash.Hex();
}

Dataset LoadSplit(const std::string& data_dir, const std::string& split, int history, int limit) {
  Dataset dataset;
  for (int i = 0; limit < 0 || i < limit; ++i) {
    const std::string dir = TrajectoryDirectory(data_dir, split, i);
    if (!std::filesystem::exists(dir + "/metadata.json")) break;
    dataset.trajectories.push_back(ToTensors(LoadTrajectory(dir), history));
  }
  if (dataset.trajectories.empty()) {
    throw std::runtime_error(data_dir + ": no '" + split + "' trajectories (expected " +
                             TrajectoryDirectory(data_dir, split, 0) + ")");
  }
  return dataset;
}

learned::Normalization LoadNormalization(const std::string& data_dir) {
  const std::string path = data_dir + "/normalization.json";
  try {
    return learned::NormalizationFromJson(nlohmann::json::parse(tasks::ReadFile(path)));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

void SetVolumeStatistics(const Dataset& data, learned::Normalization& n) {
  double sum[2] = {0, 0}, squares[2] = {0, 0}, count[2] = {0, 0};
  const auto add = [&](int k, const torch::Tensor& values) {
    const torch::Tensor v = values.masked_select(torch::isfinite(values)).to(torch::kFloat64);
    sum[k] += v.sum().item<double>();
    squares[k] += v.pow(2).sum().item<double>();
    count[k] += static_cast<double>(v.numel());
  };
  for (const TrajectoryTensors& t : data.trajectories) {
    t.Volume(0, 0);  // throws where the data has no J
    const torch::Tensor j = t.mpm_state.select(2, 2);  // [frames, particles], NaN before birth
    add(0, j);
    add(1, j.narrow(0, 1, j.size(0) - 1) - j.narrow(0, 0, j.size(0) - 1));
  }
  if (count[1] == 0) throw std::invalid_argument("no frames of J to take its statistics from");
  const auto std_of = [&](int k, double mean) { return std::sqrt(std::max(1e-20, squares[k] / count[k] - mean * mean)); };
  n.has_volume = true;
  n.volume_mean = sum[0] / count[0];
  n.volume_std = std_of(0, n.volume_mean);
  n.volume_change_mean = sum[1] / count[1];
  n.volume_change_std = std_of(1, n.volume_change_mean);
}

learned::RolloutSetup SetupFromData(const TrajectoryTensors& t, int start_frame, int steps) {
  if (start_frame < 0 || steps < 0 || start_frame + steps > t.Frames() - 1) {
    throw std::invalid_argument("rollout from frame " + std::to_string(start_frame) + " for " +
                                std::to_string(steps) + " steps does not fit the trajectory");
  }
  learned::RolloutSetup setup;
  setup.domain = t.domain;
  setup.steps = steps;
  setup.history = t.history;
  const int64_t particles = t.AliveAt(start_frame + steps);
  // Rows after a particle's birth are overwritten by the rollout.
  setup.initial_states = t.Rows(start_frame - t.history, t.history + steps + 1, particles).clone();
  for (int64_t i = 0; i < particles; ++i) setup.birth_frame.push_back(std::max(0, t.birth_frame[i] - start_frame));
  // J: the ground truth's at a later start; from frame 0, and at births, 1 as in a design.
  if (start_frame > 0 && t.mpm_state.defined()) {
    setup.initial_volume = torch::ones({particles});
    const int64_t alive = t.AliveAt(start_frame);
    setup.initial_volume.narrow(0, 0, alive).copy_(t.Volume(start_frame, alive));
  }
  return setup;
}

torch::Tensor TrajectoryTensors::Volume(int frame, int64_t particles) const {
  if (!mpm_state.defined()) {
    throw std::invalid_argument("J of the fluid needs data with the ground truth's state (generate it with "
                                "\"record_mpm_state\": true in the recipe)");
  }
  return mpm_state.select(0, frame).narrow(0, 0, particles).select(1, 2);
}

torch::Tensor RolloutFromData(learned::LearnedSimulator& simulator, const TrajectoryTensors& t, int start_frame,
                              int steps, const torch::Device& device, torch::Tensor* volumes) {
  learned::RolloutSetup setup = SetupFromData(t, start_frame, steps);
  if (simulator.Config().volume_state && start_frame > 0) t.Volume(start_frame, 0);  // the data must have J
  setup.initial_states = setup.initial_states.to(device);
  return learned::Rollout(simulator, setup, t.obstacles.to(device), t.capsules.to(device), {}, volumes);
}

}  // namespace flowdesign::simulator::training
