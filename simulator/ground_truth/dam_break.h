// Dam-break validation (Martin & Moyce 1952): a column of water, width a and height 2a, standing
// against the left wall of a tank collapses under gravity; the surge front's distance from the
// back wall is compared with the measurements in dimensionless form,
//   T = t * sqrt(2 g / a),   Z = front / a.
// Shared by the test suite (tests/simulator/mpm_test.cc) and the validation program
// (benchmarks/dam_break_validation.cc).
#pragma once

#include <string>
#include <vector>

#include "simulator/ground_truth/mpm_solver.h"

namespace flowdesign::simulator {

struct DamBreakPoint {
  double T = 0.0;  // t * sqrt(2 g / a)
  double Z = 0.0;  // front / a
};

struct DamBreakResult {
  double column_width_m = 0.0;  // a
  double spacing_m = 0.0;
  int particles = 0;
  std::vector<DamBreakPoint> front;  // one point per frame, starting at T = 0, Z = 1
  MpmStats stats;
  double wall_time_s = 0.0;
};

// Simulates the collapse of an a x 2a column in a tank 10a wide and 5a high (g = 9.81 m/s^2)
// until T = max_T (capped where the front would reach the far wall, Z = 10). The front is the
// largest particle x plus half a spacing (particles sit half a spacing in from the fluid's edge).
DamBreakResult RunDamBreak(double column_width_m = 0.1, double spacing_m = 0.01, int threads = 1,
                           double max_T = 6.0, const MpmOptions& base_options = {});

// Reads the reference CSV (header "T,Z"; lines starting with '#' are comments).
// Throws std::runtime_error naming the file if it is missing or malformed.
std::vector<DamBreakPoint> LoadDamBreakReference(const std::string& csv_path);

struct DamBreakComparisonRow {
  double T = 0.0;
  double Z_measured = 0.0;
  double Z_simulated = 0.0;  // linear interpolation of the simulated front at T
  double relative_error = 0.0;  // |Z_simulated - Z_measured| / Z_measured
};

struct DamBreakComparison {
  std::vector<DamBreakComparisonRow> rows;  // reference points with T <= max_T
  double mean_relative_error = 0.0;
  double max_relative_error = 0.0;
};

// Compares the simulated front with the reference points with T <= max_T. Throws
// std::runtime_error if the simulation does not cover those points.
DamBreakComparison CompareDamBreak(const DamBreakResult& result,
                                   const std::vector<DamBreakPoint>& reference, double max_T = 4.0);

}  // namespace flowdesign::simulator
