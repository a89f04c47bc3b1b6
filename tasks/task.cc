#include "tasks/task.h"

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
