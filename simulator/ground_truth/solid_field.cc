#include "simulator/ground_truth/solid_field.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace flowdesign::simulator {

SolidField::SolidField(const std::vector<Capsule>& solids, Box bounds, double bin_size,
                       double query_range)
    : solids_(solids), bounds_(bounds), bin_size_(bin_size), inv_bin_size_(1.0 / bin_size),
      query_range_(query_range) {
  bins_x_ = std::max(1, static_cast<int>(std::ceil(bounds.Width() / bin_size)));
  bins_y_ = std::max(1, static_cast<int>(std::ceil(bounds.Height() / bin_size)));
  std::vector<std::vector<int>> lists(static_cast<size_t>(bins_x_) * bins_y_);
  min_radius_ = std::numeric_limits<double>::infinity();
  for (size_t k = 0; k < solids.size(); ++k) {
    const Capsule& c = solids[k];
    min_radius_ = std::min(min_radius_, c.radius);
    // Every bin whose box lies within radius + range of the capsule's bounding box: a superset.
    const double reach = c.radius + query_range;
    const int i0 = std::max(0, static_cast<int>(std::floor((std::min(c.a.x, c.b.x) - reach - bounds.min.x) / bin_size)));
    const int i1 = std::min(bins_x_ - 1, static_cast<int>(std::floor((std::max(c.a.x, c.b.x) + reach - bounds.min.x) / bin_size)));
    const int j0 = std::max(0, static_cast<int>(std::floor((std::min(c.a.y, c.b.y) - reach - bounds.min.y) / bin_size)));
    const int j1 = std::min(bins_y_ - 1, static_cast<int>(std::floor((std::max(c.a.y, c.b.y) + reach - bounds.min.y) / bin_size)));
    const double half_diagonal = 0.5 * std::sqrt(2.0) * bin_size;
    for (int j = j0; j <= j1; ++j) {
      for (int i = i0; i <= i1; ++i) {
        const Vec2 center{bounds.min.x + (i + 0.5) * bin_size, bounds.min.y + (j + 0.5) * bin_size};
        if (tasks::SignedDistanceToCapsule(c, center) <= query_range + half_diagonal) {
          lists[static_cast<size_t>(j) * bins_x_ + i].push_back(static_cast<int>(k));
        }
      }
    }
  }
  bin_start_.assign(lists.size() + 1, 0);
  for (size_t b = 0; b < lists.size(); ++b) {
    bin_start_[b + 1] = bin_start_[b] + static_cast<int>(lists[b].size());
    bin_capsules_.insert(bin_capsules_.end(), lists[b].begin(), lists[b].end());
  }
}

bool SolidField::Query(double x, double y, double* distance, double* normal_x,
                       double* normal_y) const {
  const double u = (x - bounds_.min.x) * inv_bin_size_;
  const double v = (y - bounds_.min.y) * inv_bin_size_;
  if (!(u >= 0.0 && v >= 0.0)) return false;  // also rejects NaN
  const int i = static_cast<int>(u);  // truncation == floor for u >= 0
  const int j = static_cast<int>(v);
  if (i >= bins_x_ || j >= bins_y_) return false;
  const size_t bin = static_cast<size_t>(j) * bins_x_ + i;
  double best = query_range_;
  bool found = false;
  for (int k = bin_start_[bin]; k < bin_start_[bin + 1]; ++k) {
    Vec2 n;
    const double d = tasks::SignedDistanceToCapsule(solids_[bin_capsules_[k]], {x, y}, &n);
    if (d < best) {
      best = d;
      *normal_x = n.x;
      *normal_y = n.y;
      found = true;
    }
  }
  if (found) *distance = best;
  return found;
}

}  // namespace flowdesign::simulator
