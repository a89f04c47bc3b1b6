#include "simulator/ground_truth/dam_break.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "tasks/file_util.h"

namespace flowdesign::simulator {
namespace {

constexpr double kGravity = 9.81;
constexpr double kTankWidthInColumns = 10.0;   // tank: 10a x 5a
constexpr double kTankHeightInColumns = 5.0;
constexpr double kFrameDeltaT = 0.025;         // dimensionless time between recorded frames

double Front(const MpmSolver& solver, double spacing) {
  double front = 0.0;
  for (int p = 0; p < solver.ParticleCount(); ++p) front = std::max(front, solver.Position(p).x);
  return front + 0.5 * spacing;
}

}  // namespace

DamBreakResult RunDamBreak(double a, double spacing, int threads, double max_T,
                           const MpmOptions& base_options) {
  if (!(a > 0.0) || !(spacing > 0.0) || spacing > 0.5 * a) {
    throw std::invalid_argument("RunDamBreak: need a > 0 and 0 < spacing <= a / 2");
  }
  const double time_scale = std::sqrt(2.0 * kGravity / a);  // T = t * time_scale
  Scene scene;
  scene.domain = {{0.0, 0.0}, {kTankWidthInColumns * a, kTankHeightInColumns * a}};
  scene.gravity = {0.0, -kGravity};
  scene.particle_spacing_m = spacing;
  scene.frame_dt_s = kFrameDeltaT / time_scale;
  scene.frames = static_cast<int>(std::ceil(max_T / kFrameDeltaT - 1e-9));
  scene.fluid_positions = tasks::BlockParticlePositions({{{0.0, 0.0}, {a, 2.0 * a}}, {0.0, 0.0}}, spacing);
  scene.fluid_velocities.assign(scene.fluid_positions.size(), {0.0, 0.0});

  MpmOptions options = base_options;
  options.threads = threads;
  MpmSolver solver(scene, options);
  DamBreakResult result;
  result.column_width_m = a;
  result.spacing_m = spacing;
  result.particles = solver.ParticleCount();
  result.front.push_back({0.0, Front(solver, spacing) / a});
  const auto start = std::chrono::steady_clock::now();
  for (int frame = 1; frame <= scene.frames; ++frame) {
    solver.StepFrame();
    const double Z = Front(solver, spacing) / a;
    result.front.push_back({frame * scene.frame_dt_s * time_scale, Z});
    if (Z >= 0.98 * kTankWidthInColumns) break;  // the surge has reached the far wall
  }
  result.wall_time_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.stats = solver.Stats();
  return result;
}

std::vector<DamBreakPoint> LoadDamBreakReference(const std::string& csv_path) {
  std::istringstream text(tasks::ReadFile(csv_path));
  std::vector<DamBreakPoint> points;
  std::string line;
  int line_number = 0;
  bool header_seen = false;
  while (std::getline(text, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    if (!header_seen) {  // the column names
      header_seen = true;
      if (line.rfind("T,Z", 0) != 0) {
        throw std::runtime_error(csv_path + ":" + std::to_string(line_number) +
                                 ": expected the header \"T,Z\"");
      }
      continue;
    }
    DamBreakPoint p;
    char comma = 0;
    std::istringstream fields(line);
    if (!(fields >> p.T >> comma >> p.Z) || comma != ',' || !std::isfinite(p.T) ||
        !std::isfinite(p.Z)) {
      throw std::runtime_error(csv_path + ":" + std::to_string(line_number) +
                               ": expected two numbers \"T,Z\", got \"" + line + "\"");
    }
    points.push_back(p);
  }
  if (points.empty()) throw std::runtime_error(csv_path + ": no data rows");
  return points;
}

DamBreakComparison CompareDamBreak(const DamBreakResult& result,
                                   const std::vector<DamBreakPoint>& reference, double max_T) {
  const std::vector<DamBreakPoint>& curve = result.front;
  DamBreakComparison comparison;
  for (const DamBreakPoint& measured : reference) {
    if (measured.T > max_T) continue;
    if (curve.empty() || measured.T > curve.back().T) {
      throw std::runtime_error("CompareDamBreak: the simulation ends before T = " +
                               std::to_string(measured.T));
    }
    // Linear interpolation between the two recorded frames around T.
    const auto upper = std::lower_bound(
        curve.begin(), curve.end(), measured.T,
        [](const DamBreakPoint& p, double T) { return p.T < T; });
    double Z = upper->Z;
    if (upper != curve.begin() && upper->T > measured.T) {
      const DamBreakPoint& lo = *(upper - 1);
      const double w = (measured.T - lo.T) / (upper->T - lo.T);
      Z = lo.Z + w * (upper->Z - lo.Z);
    }
    DamBreakComparisonRow row{measured.T, measured.Z, Z,
                              std::abs(Z - measured.Z) / measured.Z};
    comparison.rows.push_back(row);
    comparison.mean_relative_error += row.relative_error;
    comparison.max_relative_error = std::max(comparison.max_relative_error, row.relative_error);
  }
  if (comparison.rows.empty()) {
    throw std::runtime_error("CompareDamBreak: no reference points with T <= " +
                             std::to_string(max_T));
  }
  comparison.mean_relative_error /= static_cast<double>(comparison.rows.size());
  return comparison;
}

}  // namespace flowdesign::simulator
