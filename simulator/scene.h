// A compiled scene: what a simulator needs to run one design of a task. Immutable once built;
// both simulators (ground truth and learned) read the same Scene.
#pragma once

#include <vector>

#include "tasks/geometry.h"
#include "tasks/task.h"

namespace flowdesign::simulator {

using tasks::Box;
using tasks::Capsule;
using tasks::Vec2;

struct Scene {
  Box domain;
  Vec2 gravity;
  double particle_spacing_m = 0.01;
  double frame_dt_s = 0.0025;
  int frames = 0;
  std::vector<Vec2> fluid_positions;   // fluid present at t = 0
  std::vector<Vec2> fluid_velocities;  // same size
  std::vector<tasks::Emitter> emitters;
  std::vector<Capsule> solids;         // walls and tools
  int wall_capsule_count = 0;          // solids[0, wall_capsule_count) are walls, the rest tools
};

// Builds the scene of `task` with its tools at `flat_parameters` (natural units). Fluid particles
// that start inside a solid are dropped, so no particle ever starts inside one.
Scene BuildScene(const tasks::Task& task, const std::vector<double>& flat_parameters);

// Signed distance of p to the union of the capsules (negative inside); +infinity if none.
double SignedDistanceToSolids(const std::vector<Capsule>& solids, Vec2 p, Vec2* normal = nullptr);

// One particle added by an emitter.
struct EmittedParticle {
  Vec2 position;
  Vec2 velocity;
};

// Particles the scene's emitters add at the end of frame `frame` (>= 1): every row emitted in
// (t_{frame-1}, t_frame], advanced to t_frame. Stateless, so any simulator gets the same ones.
std::vector<EmittedParticle> EmittedDuringFrame(const Scene& scene, int frame);

// Upper bound on the particles a scene ever holds (initial + all emitted).
int TotalParticleCount(const Scene& scene);

// The scene with its fluid, emitters and solids moved by d, its domain (hence MPM's grid) not.
Scene TranslatedContents(Scene scene, Vec2 d);

}  // namespace flowdesign::simulator
