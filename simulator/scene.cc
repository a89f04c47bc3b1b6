#include "simulator/scene.h"

#include <cmath>
#include <limits>

#include "tasks/tool_geometry.h"

namespace flowdesign::simulator {

double SignedDistanceToSolids(const std::vector<Capsule>& solids, Vec2 p, Vec2* normal) {
  double best = std::numeric_limits<double>::infinity();
  for (const Capsule& c : solids) {
    Vec2 n;
    const double d = tasks::SignedDistanceToCapsule(c, p, &n);
    if (d < best) {
      best = d;
      if (normal != nullptr) *normal = n;
    }
  }
  return best;
}

Scene BuildScene(const tasks::Task& task, const std::vector<double>& flat_parameters) {
  Scene scene;
  scene.domain = {task.domain.min, task.domain.max};
  scene.gravity = task.gravity;
  scene.particle_spacing_m = task.particle_spacing_m;
  scene.frame_dt_s = task.horizon.frame_dt_s;
  scene.frames = task.horizon.frames;
  scene.emitters = task.emitters;
  scene.solids = tasks::SolidCapsules(task, flat_parameters);  // walls first, then tools
  scene.wall_capsule_count = static_cast<int>(tasks::WallCapsules(task).size());
  for (const tasks::WaterBlock& block : task.blocks) {
    for (Vec2 p : tasks::BlockParticlePositions(block, task.particle_spacing_m)) {
      if (SignedDistanceToSolids(scene.solids, p) < 0.0) continue;
      scene.fluid_positions.push_back(p);
      scene.fluid_velocities.push_back(block.velocity);
    }
  }
  return scene;
}

namespace {

// Rows an emitter has emitted by time t (a row every spacing / speed seconds from start).
long RowsEmittedBy(const tasks::Emitter& e, double spacing, double t) {
  if (t < e.start_s) return 0;
  const double active = std::min(t, e.stop_s) - e.start_s;
  return static_cast<long>(std::floor(active * Norm(e.velocity) / spacing + 1e-9)) + 1;
}

int ParticlesPerRow(const tasks::Emitter& e, double spacing) {
  return std::max(1, static_cast<int>(std::floor(e.width_m / spacing + 1e-9)));
}

}  // namespace

std::vector<EmittedParticle> EmittedDuringFrame(const Scene& scene, int frame) {
  std::vector<EmittedParticle> out;
  const double spacing = scene.particle_spacing_m;
  const double t_now = frame * scene.frame_dt_s;
  const double t_before = (frame - 1) * scene.frame_dt_s;
  for (const tasks::Emitter& e : scene.emitters) {
    const double speed = Norm(e.velocity);
    const Vec2 dir = (1.0 / speed) * e.velocity;
    const Vec2 across{-dir.y, dir.x};
    const int per_row = ParticlesPerRow(e, spacing);
    const long first = frame == 1 ? 0 : RowsEmittedBy(e, spacing, t_before);
    const long last = RowsEmittedBy(e, spacing, t_now);
    for (long row = first; row < last; ++row) {
      const double t_emit = e.start_s + row * spacing / speed;
      const Vec2 center = e.position + (t_now - t_emit) * e.velocity;
      for (int k = 0; k < per_row; ++k) {
        const double offset = (k - 0.5 * (per_row - 1)) * spacing;
        out.push_back({center + offset * across, e.velocity});
      }
    }
  }
  return out;
}

int TotalParticleCount(const Scene& scene) {
  long total = static_cast<long>(scene.fluid_positions.size());
  const double t_end = scene.frames * scene.frame_dt_s;
  for (const tasks::Emitter& e : scene.emitters) {
    total += RowsEmittedBy(e, scene.particle_spacing_m, t_end) *
             ParticlesPerRow(e, scene.particle_spacing_m);
  }
  return static_cast<int>(total);
}

Scene TranslatedContents(Scene scene, Vec2 d) {
  for (Vec2& p : scene.fluid_positions) p = p + d;
  for (tasks::Emitter& e : scene.emitters) e.position = e.position + d;
  for (Capsule& c : scene.solids) {
    c.a = c.a + d;
    c.b = c.b + d;
  }
  return scene;
}

}  // namespace flowdesign::simulator
