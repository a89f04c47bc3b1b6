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
  // [history + frames, particles, 2]: row history + f holds frame f. Rows before a particle's
  // birth hold its birth position extrapolated back at its birth velocity: the same start a
  // learned rollout gets (MakeRolloutSetup), so training also sees fluid that starts moving.
  torch::Tensor states;
  int history = 0;
  std::vector<int> birth_frame;  // non-decreasing
  torch::Tensor obstacles;       // [m, 2] obstacle particles
  torch::Tensor capsules;        // [K, 5]
  tasks::Box domain;
  double particle_spacing_m = 0.0;
  double frame_dt_s = 0.0;
  // What the ground truth needs besides the above to restart from a state (RestartScene).
  std::vector<Capsule> solids;
  int wall_capsule_count = 0;
  Vec2 gravity;
  // [frames, particles, kMpmStateWidth]: the ground truth's state per frame, where the data
  // recorded it (recipe's record_mpm_state); undefined otherwise.
  torch::Tensor mpm_state;

  int Frames() const { return static_cast<int>(states.size(0)) - history; }
  // Particles alive at `frame` (a prefix, as birth frames are non-decreasing).
  int64_t AliveAt(int frame) const;
  // Positions of the first `particles` particles at frames from - history .. from + count - 1 - history.
  torch::Tensor Rows(int first_frame, int count, int64_t particles) const {
    return states.narrow(0, first_frame + history, count).narrow(1, 0, particles);
  }
  torch::Tensor Frame(int frame, int64_t particles) const { return Rows(frame, 1, particles).squeeze(0); }
  // The ground truth's J of the first `particles` particles at `frame` [particles]; throws where
  // the data did not record the state.
  torch::Tensor Volume(int frame, int64_t particles) const;
  // The scene without its fluid, for one frame: where the ground truth restarts (GroundTruthRun).
  Scene RestartScene() const;
};

// `history`: the model's velocity history, the number of rows extrapolated before frame 0.
TrajectoryTensors ToTensors(const Trajectory& trajectory, int history);

// A fingerprint (hex) of the scenes as they start: per trajectory its frame step, spacing,
// domain, solids, birth frames and frame 0, not the motion after it. Data made from one recipe's
// scenes with another ground truth (e.g. another viscosity) shares it, so models evaluated on
// either can be compared scene by scene.
std::string ScenesFingerprint(const std::vector<TrajectoryTensors>& trajectories);

struct Dataset {
  std::vector<TrajectoryTensors> trajectories;
};

// Loads split ("train", "valid", "test") of a data folder; at most `limit` trajectories (-1: all).
Dataset LoadSplit(const std::string& data_dir, const std::string& split, int history, int limit = -1);
learned::Normalization LoadNormalization(const std::string& data_dir);
// Sets n's statistics of J and of its change per frame (has_volume) from the fluid of `data`,
// whose trajectories must have recorded the ground truth's state.
void SetVolumeStatistics(const Dataset& data, learned::Normalization& n);

// A rollout of a data trajectory from `start_frame` for `steps` steps, with the ground-truth
// rows before it as its initial window and later-born particles entering at their birth frame
// (particles born after the last step are left out). From frame 0 it is exactly the rollout
// of the same scene in a design.
learned::RolloutSetup SetupFromData(const TrajectoryTensors& t, int start_frame, int steps);

// That rollout's positions [steps + 1, particles, 2] on `device` (where the simulator is); with
// a volume state *volumes (if given) receives J [steps + 1, particles].
torch::Tensor RolloutFromData(learned::LearnedSimulator& simulator, const TrajectoryTensors& t, int start_frame,
                              int steps, const torch::Device& device = torch::kCPU, torch::Tensor* volumes = nullptr);

}  // namespace flowdesign::simulator::training
