// A simulated trajectory: fluid particle positions per frame plus the scene's geometry.
// On disk (a folder, GNS-style, readable from NumPy):
//   positions.npy    float32 [frames + 1, particles, 2]  (NaN before a particle is emitted)
//   birth_frame.npy  int32   [particles]                 (0 for fluid present at t = 0)
//   birth_velocity.npy float32 [particles, 2]            (m/s when the particle appears)
//   particle_type.npy int32  [particles]                 (0 = fluid)
//   mpm_state.npy    float32 [frames + 1, particles, 7]  (optional: MPM's velocity, J and C;
//                                                         see kMpmStateWidth; NaN before birth)
//   metadata.json    bounds, frame_dt, particle_spacing, gravity, solids (capsules), regions,
//                    particle type names, simulator name (with MPM: its physics), format_version
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "simulator/ground_truth_physics.h"
#include "simulator/scene.h"
#include "tasks/task.h"

namespace flowdesign::simulator {

inline constexpr int kTrajectoryFormatVersion = 2;

// What MPM carries of a particle between frames besides its position, in this order: velocity
// (x, y), volume ratio J (the pressure) and affine velocity C (row-major). With the positions it is
// the whole state, so a simulation can be restarted at any frame from a recording of it.
inline constexpr int kMpmStateWidth = 7;

struct Trajectory {
  Box domain;
  Vec2 gravity;
  double particle_spacing_m = 0.0;
  double frame_dt_s = 0.0;
  std::vector<Capsule> solids;
  int wall_capsule_count = 0;
  std::vector<tasks::Region> regions;  // for pictures; may be empty
  std::string simulator;               // "mpm" or "learned"
  GroundTruthPhysics mpm_physics;      // what MPM simulated (simulator "mpm"; older files: the defaults)
  int particle_count = 0;
  int frame_count = 0;                 // including the initial frame
  std::vector<float> positions;        // [frame_count][particle_count][2]
  std::vector<int32_t> birth_frame;    // [particle_count]
  // [particle_count][2], m/s at the birth frame: a learned rollout assumes this velocity
  // before the particle appears, so training windows reaching back past the birth use it too.
  std::vector<float> birth_velocity;
  // [frame_count][particle_count][kMpmStateWidth] when the ground truth recorded its state
  // (data recipes' record_mpm_state), else empty.
  std::vector<float> mpm_state;

  bool Alive(int frame, int particle) const { return birth_frame[particle] <= frame; }
  Vec2 Position(int frame, int particle) const {
    const size_t i = (static_cast<size_t>(frame) * particle_count + particle) * 2;
    return {positions[i], positions[i + 1]};
  }
  // Positions of the particles alive at `frame`.
  std::vector<Vec2> AlivePositions(int frame) const;
};

// A trajectory with the scene's metadata and no frames yet.
Trajectory EmptyTrajectory(const Scene& scene, int particle_count, int frame_count);

void SaveTrajectory(const Trajectory& trajectory, const std::string& directory);
Trajectory LoadTrajectory(const std::string& directory);

}  // namespace flowdesign::simulator
