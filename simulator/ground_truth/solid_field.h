// Signed distance to the union of a scene's solid capsules, with a uniform-bin broadphase so a
// query only visits the few capsules near it. Solids are static during one simulation.
#pragma once

#include <vector>

#include "simulator/scene.h"

namespace flowdesign::simulator {

class SolidField {
 public:
  // Answers exactly for points within `query_range` of a solid surface inside `bounds`.
  SolidField(const std::vector<Capsule>& solids, Box bounds, double bin_size, double query_range);

  // Signed distance (negative inside) and outward unit normal of the nearest capsule. Returns
  // false when no solid is within query_range (then distance and normal are untouched).
  bool Query(double x, double y, double* distance, double* normal_x, double* normal_y) const;

  double MinRadius() const { return min_radius_; }
  bool Empty() const { return solids_.empty(); }

 private:
  std::vector<Capsule> solids_;
  Box bounds_;
  double bin_size_ = 0.0;
  double inv_bin_size_ = 0.0;
  double query_range_ = 0.0;
  int bins_x_ = 0, bins_y_ = 0;
  std::vector<int> bin_start_;    // CSR offsets, size bins + 1
  std::vector<int> bin_capsules_; // capsule indices
  double min_radius_ = 0.0;
};

}  // namespace flowdesign::simulator
