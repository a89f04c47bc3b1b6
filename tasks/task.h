// The task: plain, validated data describing one design problem. Every later stage reads it.
// The JSON format is documented in docs/task-format.md; units are SI (m, s, m/s^2, degrees).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tasks/geometry.h"

namespace flowdesign::tasks {

inline constexpr int kTaskFormatVersion = 1;

struct Domain {
  int dimensions = 2;  // only 2 is supported now; 3 is reserved for heightfield tasks
  Vec2 min{0.0, 0.0};
  Vec2 max{1.0, 1.0};
};

// A rectangle of water present at t = 0, filled at the task's particle spacing.
struct WaterBlock {
  Box box;
  Vec2 velocity{0.0, 0.0};  // m/s
};

// A line of width `width_m` centred on `position`, perpendicular to `velocity`, that adds
// particles moving at `velocity` between start_s and stop_s.
// The particles a block holds at t = 0: a grid at `spacing` with particle (i, j) at
// box.min + ((i + 0.5) * spacing, (j + 0.5) * spacing), i < floor(width / spacing),
// j < floor(height / spacing). The floor forgives a relative rounding error of 1e-9, so that a
// 0.3 m block at 0.1 m spacing holds 3 particles per row. Simulators seed blocks with exactly
// these positions.
int CountBlockParticles(const WaterBlock& block, double spacing);
std::vector<Vec2> BlockParticlePositions(const WaterBlock& block, double spacing);

struct Emitter {
  Vec2 position;
  double width_m = 0.0;
  Vec2 velocity;  // m/s, must be non-zero
  double start_s = 0.0;
  double stop_s = 0.0;
};

// A fixed solid: a polyline swept by a disc of diameter `thickness_m`.
struct Wall {
  std::vector<Vec2> points;  // >= 2 points
  double thickness_m = 0.0;
};

enum class ToolKind { kChain, kRamp };
const char* ToolKindName(ToolKind kind);

// A chain of straight segments starting at `anchor`. Parameter i is the joint angle of segment
// i relative to segment i-1 (segment 0: relative to the +x axis), in degrees.
struct ChainTool {
  Vec2 anchor;
  int segments = 0;
  double segment_length_m = 0.0;
  std::vector<double> angle_min_deg;      // one per segment
  std::vector<double> angle_max_deg;      // one per segment
  std::vector<double> initial_angle_deg;  // one per segment
};

// A rigid straight segment of fixed length. Parameters: centre x, centre y (m), angle (deg).
struct RampTool {
  double length_m = 0.0;
  Box center_bounds;
  double angle_min_deg = 0.0;
  double angle_max_deg = 0.0;
  Vec2 initial_center;
  double initial_angle_deg = 0.0;
};

struct Tool {
  std::string name;
  ToolKind kind = ToolKind::kChain;
  double thickness_m = 0.0;
  ChainTool chain;  // used when kind == kChain
  RampTool ramp;    // used when kind == kRamp

  int ParameterCount() const;
  std::vector<double> InitialParameters() const;
  std::vector<double> LowerBounds() const;
  std::vector<double> UpperBounds() const;
};

enum class RegionShape { kBox, kPolygon };

struct Region {
  std::string name;
  RegionShape shape = RegionShape::kBox;
  Box box;                     // used when shape == kBox
  std::vector<Vec2> polygon;   // used when shape == kPolygon (counter-clockwise or not)

  bool Contains(Vec2 p) const;
  // Signed distance: negative inside, positive outside.
  double SignedDistance(Vec2 p) const;
  double Area() const;
};

enum class ObjectiveKind {
  kFractionInside,     // maximize the fraction of fluid inside `region`
  kDistanceToRegion,   // minimize the mean distance of fluid particles to `region`
  kKeepOut,            // minimize the fraction of fluid inside `region`
  kSmoothness,         // minimize the mean squared difference of consecutive joint angles
};
const char* ObjectiveKindName(ObjectiveKind kind);

// One weighted term. The design objective is the weighted sum, to be *minimized*; "maximize"
// terms enter with a negative sign (see objectives/).
struct ObjectiveTerm {
  ObjectiveKind kind = ObjectiveKind::kFractionInside;
  std::string region;      // name of a goal region (empty for kSmoothness)
  double weight = 1.0;     // >= 0
  int last_frames = 1;     // averaged over the last `last_frames` frames
};

struct Horizon {
  int frames = 0;           // frames after the initial state
  double frame_dt_s = 0.0;  // time between frames
};

enum class OptimizerKind { kAdam, kLbfgs, kCem, kRandom };
const char* OptimizerKindName(OptimizerKind kind);

struct OptimizerSettings {
  OptimizerKind kind = OptimizerKind::kAdam;
  int iterations = 100;
  double learning_rate = 0.05;  // Adam, in units of the normalized parameter
  double learning_rate_decay = 1.0;  // Adam: step k uses learning_rate * decay^k; 1 = constant
  int restart_patience = 0;     // Adam: back to the best design after this many worse steps; 0 = off
  double max_step_m = 0.0;      // Adam: the most a tool point moves per step, metres; 0 = no limit
  double max_step_adapt = 1.0;  // Adam: > 1 lets max_step adapt within [max_step, max_step * F]
  int restart_draws = 0;        // Adam: random designs tried around the best at each restart
  double restart_spread = 0.3;  // Adam: their distance, up to this fraction of each range
  bool backtrack = false;       // Adam: a step that makes the objective worse is halved
  int population = 16;          // CEM / random: samples per iteration
  double elite_fraction = 0.25; // CEM
  int starts = 1;               // independent searches
};

struct Task {
  int format_version = kTaskFormatVersion;
  std::string name;
  std::string description;
  Domain domain;
  Vec2 gravity{0.0, -9.81};
  double particle_spacing_m = 0.01;
  std::vector<WaterBlock> blocks;
  std::vector<Emitter> emitters;
  std::vector<Wall> walls;
  std::vector<Tool> tools;
  std::vector<Region> regions;
  std::vector<ObjectiveTerm> objective;
  Horizon horizon;
  std::uint64_t seed = 0;
  OptimizerSettings optimizer;

  int ParameterCount() const;
  const Region* FindRegion(const std::string& region_name) const;
};

}  // namespace flowdesign::tasks
