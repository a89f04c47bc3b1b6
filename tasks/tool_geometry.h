// Tool geometry from parameters in natural units (degrees, metres), in double precision.
// The simulators and the renderer see tools and walls only as capsules.
#pragma once

#include <algorithm>
#include <vector>

#include "tasks/task.h"

namespace flowdesign::tasks {

// Joint positions of a chain (segments + 1 points) for the given joint angles in degrees.
std::vector<Vec2> ChainPoints(const ChainTool& chain, const std::vector<double>& angles_deg);

// Capsules of one tool for its parameters (Tool::ParameterCount() values).
std::vector<Capsule> ToolCapsules(const Tool& tool, const std::vector<double>& parameters);

// Capsules of all fixed walls.
std::vector<Capsule> WallCapsules(const Task& task);

// Splits a flat parameter vector (tools in order) into one vector per tool.
std::vector<std::vector<double>> SplitParameters(const Task& task, const std::vector<double>& flat);

// All solid capsules of a task: walls, then tools at `flat_parameters`.
std::vector<Capsule> SolidCapsules(const Task& task, const std::vector<double>& flat_parameters);

// How far the design moves from one flat parameter vector to another: the largest distance any
// capsule end travels, in metres.
double SolidDisplacement(const Task& task, const std::vector<double>& from, const std::vector<double>& to);

// The task's initial (neutral) design and its bounds as flat vectors (tools in order).
std::vector<double> InitialParameters(const Task& task);
std::vector<double> LowerBounds(const Task& task);
std::vector<double> UpperBounds(const Task& task);

// x with each parameter i moved by offset() x (upper[i] - lower[i]) and clamped into
// [lower[i], upper[i]]; offset() is called once per parameter, in order (random perturbations
// of a design: each caller keeps its own random stream).
template <typename Offset>
std::vector<double> MovedWithinBounds(std::vector<double> x, const std::vector<double>& lower,
                                      const std::vector<double>& upper, Offset&& offset) {
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::clamp(x[i] + offset() * (upper[i] - lower[i]), lower[i], upper[i]);
  return x;
}

}  // namespace flowdesign::tasks
