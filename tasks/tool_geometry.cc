#include "tasks/tool_geometry.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace flowdesign::tasks {

std::vector<Vec2> ChainPoints(const ChainTool& chain, const std::vector<double>& angles_deg) {
  std::vector<Vec2> points{chain.anchor};
  double absolute = 0.0;
  for (double joint : angles_deg) {
    absolute += DegToRad(joint);
    const Vec2 step{chain.segment_length_m * std::cos(absolute),
                    chain.segment_length_m * std::sin(absolute)};
    points.push_back(points.back() + step);
  }
  return points;
}

std::vector<Capsule> ToolCapsules(const Tool& tool, const std::vector<double>& parameters) {
  if (static_cast<int>(parameters.size()) != tool.ParameterCount()) {
    throw std::invalid_argument("tool '" + tool.name + "': expected " +
                                std::to_string(tool.ParameterCount()) + " parameters, got " +
                                std::to_string(parameters.size()));
  }
  if (tool.kind == ToolKind::kChain) {
    return PolylineCapsules(ChainPoints(tool.chain, parameters), tool.thickness_m);
  }
  const Vec2 center{parameters[0], parameters[1]};
  const double angle = DegToRad(parameters[2]);
  const Vec2 half = 0.5 * tool.ramp.length_m * Vec2{std::cos(angle), std::sin(angle)};
  return {{center - half, center + half, 0.5 * tool.thickness_m}};
}

std::vector<Capsule> WallCapsules(const Task& task) {
  std::vector<Capsule> capsules;
  for (const Wall& wall : task.walls) {
    for (const Capsule& c : PolylineCapsules(wall.points, wall.thickness_m)) capsules.push_back(c);
  }
  return capsules;
}

std::vector<std::vector<double>> SplitParameters(const Task& task,
                                                 const std::vector<double>& flat) {
  if (static_cast<int>(flat.size()) != task.ParameterCount()) {
    throw std::invalid_argument("expected " + std::to_string(task.ParameterCount()) +
                                " design parameters, got " + std::to_string(flat.size()));
  }
  std::vector<std::vector<double>> split;
  size_t offset = 0;
  for (const Tool& tool : task.tools) {
    const size_t n = static_cast<size_t>(tool.ParameterCount());
    split.emplace_back(flat.begin() + offset, flat.begin() + offset + n);
    offset += n;
  }
  return split;
}

std::vector<Capsule> SolidCapsules(const Task& task, const std::vector<double>& flat_parameters) {
  std::vector<Capsule> capsules = WallCapsules(task);
  const auto split = SplitParameters(task, flat_parameters);
  for (size_t i = 0; i < task.tools.size(); ++i) {
    for (const Capsule& c : ToolCapsules(task.tools[i], split[i])) capsules.push_back(c);
  }
  return capsules;
}

double SolidDisplacement(const Task& task, const std::vector<double>& from, const std::vector<double>& to) {
  const std::vector<Capsule> a = SolidCapsules(task, from), b = SolidCapsules(task, to);
  double largest = 0.0;
  for (size_t k = 0; k < a.size(); ++k) largest = std::max({largest, Norm(b[k].a - a[k].a), Norm(b[k].b - a[k].b)});
  return largest;
}

namespace {

template <typename PerTool>
std::vector<double> Flat(const Task& task, PerTool per_tool) {
  std::vector<double> flat;
  for (const Tool& tool : task.tools) {
    for (double v : per_tool(tool)) flat.push_back(v);
  }
  return flat;
}

}  // namespace

std::vector<double> InitialParameters(const Task& task) {
  return Flat(task, [](const Tool& tool) { return tool.InitialParameters(); });
}
std::vector<double> LowerBounds(const Task& task) {
  return Flat(task, [](const Tool& tool) { return tool.LowerBounds(); });
}
std::vector<double> UpperBounds(const Task& task) {
  return Flat(task, [](const Tool& tool) { return tool.UpperBounds(); });
}

}  // namespace flowdesign::tasks
