#include "simulator/training/dataset.h"

#include <filesystem>
#include <stdexcept>

#include "simulator/data_layout.h"
#include "tasks/file_util.h"

namespace flowdesign::simulator::training {

int64_t TrajectoryTensors::AliveAt(int frame) const {
  return std::upper_bound(birth_frame.begin(), birth_frame.end(), frame) - birth_frame.begin();
}

TrajectoryTensors ToTensors(const Trajectory& trajectory) {
  TrajectoryTensors t;
  t.positions = torch::from_blob(const_cast<float*>(trajectory.positions.data()),
                                 {trajectory.frame_count, trajectory.particle_count, 2}, torch::kFloat32)
                    .clone();
  t.birth_frame.assign(trajectory.birth_frame.begin(), trajectory.birth_frame.end());
  t.capsules = learned::CapsuleTensor(trajectory.solids);
  t.obstacles = learned::SampleObstacleParticles(t.capsules, trajectory.particle_spacing_m);
  t.domain = trajectory.domain;
  t.particle_spacing_m = trajectory.particle_spacing_m;
  t.frame_dt_s = trajectory.frame_dt_s;
  return t;
}

Dataset LoadSplit(const std::string& data_dir, const std::string& split, int limit) {
  Dataset dataset;
  for (int i = 0; limit < 0 || i < limit; ++i) {
    const std::string dir = TrajectoryDirectory(data_dir, split, i);
    if (!std::filesystem::exists(dir + "/metadata.json")) break;
    dataset.trajectories.push_back(ToTensors(LoadTrajectory(dir)));
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

learned::RolloutSetup SetupFromData(const TrajectoryTensors& t, int start_frame, int steps, int history) {
  if (start_frame < history || start_frame + steps > t.Frames() - 1) {
    throw std::invalid_argument("rollout from frame " + std::to_string(start_frame) + " for " +
                                std::to_string(steps) + " steps does not fit the trajectory");
  }
  learned::RolloutSetup setup;
  setup.domain = t.domain;
  setup.steps = steps;
  setup.history = history;
  const int64_t alive = t.AliveAt(start_frame - history);
  setup.initial_states = torch::zeros({history + steps + 1, alive, 2});
  setup.initial_states.narrow(0, 0, history + 1)
      .copy_(t.positions.narrow(0, start_frame - history, history + 1).narrow(1, 0, alive));
  setup.birth_frame.assign(static_cast<size_t>(alive), 0);
  return setup;
}

}  // namespace flowdesign::simulator::training
