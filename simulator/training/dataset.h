// Training data in memory: the trajectories of one split of a data folder as tensors.
#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

#include "simulator/learned/normalization.h"
#include "simulator/learned/rollout.h"
#include "simulator/trajectory.h"

namespace flowdesign::simulator::training {

struct TrajectoryTensors {
  torch::Tensor positions;       // [frames, particles, 2] (NaN rows before birth)
  std::vector<int> birth_frame;  // non-decreasing
  torch::Tensor obstacles;       // [m, 2] obstacle particles
  torch::Tensor capsules;        // [K, 5]
  tasks::Box domain;
  double particle_spacing_m = 0.0;
  double frame_dt_s = 0.0;

  int Frames() const { return static_cast<int>(positions.size(0)); }
  // Particles alive at `frame` (a prefix, as birth frames are non-decreasing).
  int64_t AliveAt(int frame) const;
};

TrajectoryTensors ToTensors(const Trajectory& trajectory);

struct Dataset {
  std::vector<TrajectoryTensors> trajectories;
};

// Loads split ("train", "valid", "test") of a data folder; at most `limit` trajectories (-1: all).
Dataset LoadSplit(const std::string& data_dir, const std::string& split, int limit = -1);
learned::Normalization LoadNormalization(const std::string& data_dir);

// A rollout of a data trajectory from `start_frame` (>= history) for `steps` steps, with the
// ground-truth history as its initial window; particles born after start - history are left out.
learned::RolloutSetup SetupFromData(const TrajectoryTensors& t, int start_frame, int steps, int history);

}  // namespace flowdesign::simulator::training
