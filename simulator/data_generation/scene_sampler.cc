#include "simulator/data_generation/scene_sampler.h"

#include <algorithm>
#include <cmath>

#include "tasks/tool_geometry.h"

namespace flowdesign::simulator::data {
namespace {

using tasks::Capsule;
using tasks::Vec2;

double Uniform(std::mt19937_64& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}
int UniformInt(std::mt19937_64& rng, Range r) {
  return std::uniform_int_distribution<int>(static_cast<int>(r.min), static_cast<int>(r.max))(rng);
}

bool InsideDomain(const tasks::Box& domain, const std::vector<Capsule>& capsules, double margin) {
  for (const Capsule& c : capsules) {
    for (Vec2 p : {c.a, c.b}) {
      if (p.x < domain.min.x + margin || p.x > domain.max.x - margin ||
          p.y < domain.min.y + margin || p.y > domain.max.y - margin) {
        return false;
      }
    }
  }
  return true;
}

std::vector<Capsule> Chain(Vec2 anchor, const std::vector<double>& joint_deg, double length, double thickness) {
  tasks::ChainTool chain;
  chain.anchor = anchor;
  chain.segments = static_cast<int>(joint_deg.size());
  chain.segment_length_m = length;
  return tasks::PolylineCapsules(tasks::ChainPoints(chain, joint_deg), thickness);
}

// One obstacle of a kind drawn by the recipe's weights, anchored in the lower two thirds.
std::vector<Capsule> SampleObstacle(const Recipe& r, std::mt19937_64& rng) {
  const tasks::Box& d = r.domain;
  const double w = d.Width(), h = d.Height();
  const double weights[] = {r.chain_weight, r.cup_weight, r.ramp_weight, r.wall_weight};
  const int kind = std::discrete_distribution<int>(std::begin(weights), std::end(weights))(rng);
  const Vec2 anchor{d.min.x + w * Uniform(rng, 0.1, 0.9), d.min.y + h * Uniform(rng, 0.08, 0.6)};
  const double t = r.tool_thickness_m;
  switch (kind) {
    case 0: {  // chain with random joints
      const int n = std::uniform_int_distribution<int>(2, 8)(rng);
      std::vector<double> joints{Uniform(rng, -60, 60) + (Uniform(rng, 0, 1) < 0.5 ? 180.0 : 0.0)};
      for (int i = 1; i < n; ++i) joints.push_back(Uniform(rng, -50, 50));
      return Chain(anchor, joints, Uniform(rng, 0.03, 0.08), t);
    }
    case 1: {  // cup, spoon or arc: constant bending, roughly symmetric
      const int n = std::uniform_int_distribution<int>(3, 10)(rng);
      const double bend = Uniform(rng, 10, 45) * (Uniform(rng, 0, 1) < 0.8 ? 1.0 : -1.0);
      std::vector<double> joints{-0.5 * (n - 1) * bend + Uniform(rng, -20, 20)};
      for (int i = 1; i < n; ++i) joints.push_back(bend + Uniform(rng, -8, 8));
      return Chain(anchor, joints, Uniform(rng, 0.03, 0.07), t);
    }
    case 2: {  // ramp
      const double length = Uniform(rng, 0.12, 0.5) * w;
      const double angle = tasks::DegToRad(Uniform(rng, -40, 40));
      const Vec2 half = 0.5 * length * Vec2{std::cos(angle), std::sin(angle)};
      return {{anchor - half, anchor + half, 0.5 * Uniform(rng, t, 2 * t)}};
    }
    default: {  // wall: vertical or horizontal, sometimes L-shaped
      const double length = Uniform(rng, 0.1, 0.35) * h;
      const bool vertical = Uniform(rng, 0, 1) < 0.6;
      std::vector<Vec2> points{anchor, anchor + (vertical ? Vec2{0, length} : Vec2{length, 0})};
      if (Uniform(rng, 0, 1) < 0.3) points.insert(points.begin(), anchor + Vec2{Uniform(rng, -0.1, 0.1) * w, 0.0});
      return tasks::PolylineCapsules(points, Uniform(rng, 0.02, 0.04));
    }
  }
}

double ClearanceToSolids(const std::vector<Capsule>& solids, const tasks::Box& box) {
  // Distance from the box to the nearest solid surface, sampled along the box and inside it.
  double best = 1e9;
  for (int i = 0; i <= 8; ++i) {
    for (int j = 0; j <= 8; ++j) {
      const Vec2 p{box.min.x + box.Width() * i / 8.0, box.min.y + box.Height() * j / 8.0};
      best = std::min(best, SignedDistanceToSolids(solids, p));
    }
  }
  return best;
}

// A scene of one of the recipe's design tasks with a random design (Recipe::task_scene_files and
// task_scene_designs).
Scene SampleTaskScene(const Recipe& r, std::mt19937_64& rng) {
  const size_t k = std::uniform_int_distribution<size_t>(0, r.task_scenes.size() - 1)(rng);
  const tasks::Task& task = r.task_scenes[k];
  const double spread = r.task_scene_spreads[k] * Uniform(rng, 0, 1);
  const std::vector<double> x =
      tasks::MovedWithinBounds(r.task_scene_centers[k], tasks::LowerBounds(task), tasks::UpperBounds(task),
                               [&] { return Uniform(rng, -1, 1) * spread; });
  Scene scene = BuildScene(task, x);
  scene.frames = r.frames;
  return scene;
}

}  // namespace

Scene SampleScene(const Recipe& r, std::mt19937_64& rng) {
  // No draw when there are no task scenes, so recipes without them make the same data as before.
  if (r.task_scene_fraction > 0.0 && Uniform(rng, 0, 1) < r.task_scene_fraction) return SampleTaskScene(r, rng);
  Scene scene;
  scene.domain = r.domain;
  scene.gravity = {0.0, r.gravity_y};
  scene.particle_spacing_m = r.particle_spacing_m;
  scene.frame_dt_s = r.frame_dt_s;
  scene.frames = r.frames;
  const int obstacle_count = UniformInt(rng, r.obstacles);
  for (int k = 0; k < obstacle_count; ++k) {
    for (int attempt = 0; attempt < 50; ++attempt) {
      std::vector<Capsule> obstacle = SampleObstacle(r, rng);
      if (!InsideDomain(r.domain, obstacle, 2 * r.particle_spacing_m)) continue;
      scene.solids.insert(scene.solids.end(), obstacle.begin(), obstacle.end());
      break;
    }
  }
  const int block_count = UniformInt(rng, r.blocks);
  const double s = r.particle_spacing_m;
  int particles = 0;
  std::vector<tasks::Box> placed;
  for (int b = 0; b < block_count; ++b) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      const double bw = Uniform(rng, r.block_size_m.min, r.block_size_m.max);
      const double bh = Uniform(rng, r.block_size_m.min, r.block_size_m.max);
      const tasks::Box& d = r.domain;
      if (bw > d.Width() - 4 * s || bh > 0.6 * d.Height()) continue;
      // Half of the first blocks fall right above an obstacle, as in design tasks.
      double x0 = Uniform(rng, d.min.x + 2 * s, d.max.x - 2 * s - bw);
      if (b == 0 && !scene.solids.empty() && Uniform(rng, 0, 1) < 0.5) {
        const Capsule& c = scene.solids[std::uniform_int_distribution<size_t>(0, scene.solids.size() - 1)(rng)];
        x0 = std::clamp(0.5 * (c.a.x + c.b.x) - 0.5 * bw + Uniform(rng, -0.05, 0.05),
                        d.min.x + 2 * s, d.max.x - 2 * s - bw);
      }
      const double y0 = Uniform(rng, d.min.y + 0.3 * d.Height(), d.max.y - 2 * s - bh);
      const tasks::Box box{{x0, y0}, {x0 + bw, y0 + bh}};
      if (ClearanceToSolids(scene.solids, box) < 2 * s) continue;
      bool overlaps = false;
      for (const tasks::Box& other : placed) {
        overlaps |= box.min.x < other.max.x + 2 * s && other.min.x < box.max.x + 2 * s &&
                    box.min.y < other.max.y + 2 * s && other.min.y < box.max.y + 2 * s;
      }
      if (overlaps) continue;
      tasks::WaterBlock block{box, {0.0, 0.0}};
      const std::vector<Vec2> points = tasks::BlockParticlePositions(block, s);
      if (particles + static_cast<int>(points.size()) > r.max_particles) continue;
      const double speed = Uniform(rng, r.block_speed_mps.min, r.block_speed_mps.max);
      const double direction = Uniform(rng, 0, 2 * tasks::kPi);
      const Vec2 velocity{speed * std::cos(direction), speed * std::sin(direction)};
      for (Vec2 p : points) {
        scene.fluid_positions.push_back(p);
        scene.fluid_velocities.push_back(velocity);
      }
      particles += static_cast<int>(points.size());
      placed.push_back(box);
      break;
    }
  }
  return scene;
}

}  // namespace flowdesign::simulator::data
