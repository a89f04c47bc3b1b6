#include "tasks/task.h"

#include <algorithm>
#include <climits>
#include <cmath>

namespace flowdesign::tasks {

const char* ToolKindName(ToolKind kind) {
  switch (kind) {
    case ToolKind::kChain: return "chain";
    case ToolKind::kRamp: return "ramp";
  }
  return "?";
}

const char* ObjectiveKindName(ObjectiveKind kind) {
  switch (kind) {
    case ObjectiveKind::kFractionInside: return "fraction_inside";
    case ObjectiveKind::kDistanceToRegion: return "distance_to_region";
    case ObjectiveKind::kKeepOut: return "keep_out";
    case ObjectiveKind::kSmoothness: return "smoothness";
  }
  return "?";
}

const char* OptimizerKindName(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::kAdam: return "adam";
    case OptimizerKind::kLbfgs: return "lbfgs";
    case OptimizerKind::kCem: return "cem";
    case OptimizerKind::kRandom: return "random";
  }
  return "?";
}

namespace {

// Particles along one axis of a block: floor(extent / spacing), forgiving rounding error.
int ParticlesAlong(double extent, double spacing) {
  if (!(extent > 0.0) || !(spacing > 0.0)) return 0;
  const double count = std::floor(extent / spacing * (1.0 + 1e-9));
  return static_cast<int>(std::min(count, static_cast<double>(INT_MAX)));
}

}  // namespace

int CountBlockParticles(const WaterBlock& block, double spacing) {
  const long long count = static_cast<long long>(ParticlesAlong(block.box.Width(), spacing)) *
                          ParticlesAlong(block.box.Height(), spacing);
  return static_cast<int>(std::min(count, static_cast<long long>(INT_MAX)));  // saturates
}

std::vector<Vec2> BlockParticlePositions(const WaterBlock& block, double spacing) {
  const int nx = ParticlesAlong(block.box.Width(), spacing);
  const int ny = ParticlesAlong(block.box.Height(), spacing);
  std::vector<Vec2> positions;
  positions.reserve(static_cast<size_t>(nx) * static_cast<size_t>(ny));
  for (int j = 0; j < ny; ++j) {
    for (int i = 0; i < nx; ++i) {
      positions.push_back(block.box.min + Vec2{(i + 0.5) * spacing, (j + 0.5) * spacing});
    }
  }
  return positions;
}

int Tool::ParameterCount() const {
  return kind == ToolKind::kChain ? chain.segments : 3;
}

std::vector<double> Tool::InitialParameters() const {
  if (kind == ToolKind::kChain) return chain.initial_angle_deg;
  return {ramp.initial_center.x, ramp.initial_center.y, ramp.initial_angle_deg};
}

std::vector<double> Tool::LowerBounds() const {
  if (kind == ToolKind::kChain) return chain.angle_min_deg;
  return {ramp.center_bounds.min.x, ramp.center_bounds.min.y, ramp.angle_min_deg};
}

std::vector<double> Tool::UpperBounds() const {
  if (kind == ToolKind::kChain) return chain.angle_max_deg;
  return {ramp.center_bounds.max.x, ramp.center_bounds.max.y, ramp.angle_max_deg};
}

bool Region::Contains(Vec2 p) const {
  return shape == RegionShape::kBox ? box.Contains(p) : PolygonContains(polygon, p);
}

double Region::SignedDistance(Vec2 p) const {
  return shape == RegionShape::kBox ? SignedDistanceToBox(box, p)
                                    : SignedDistanceToPolygon(polygon, p);
}

double Region::Area() const {
  return shape == RegionShape::kBox ? box.Width() * box.Height() : PolygonArea(polygon);
}

int Task::ParameterCount() const {
  int count = 0;
  for (const Tool& tool : tools) count += tool.ParameterCount();
  return count;
}

const Region* Task::FindRegion(const std::string& region_name) const {
  for (const Region& region : regions) {
    if (region.name == region_name) return &region;
  }
  return nullptr;
}

}  // namespace flowdesign::tasks
