#include "simulator/learned/radius_graph.h"

#include <algorithm>
#include <cmath>

#include "simulator/learned/counting_sort.h"

namespace flowdesign::simulator::learned {

EdgeList RadiusGraph(const float* xy, int n, const std::vector<uint8_t>& receives, double radius) {
  EdgeList edges;
  if (n == 0) return edges;
  float min_x = xy[0], min_y = xy[1], max_x = xy[0], max_y = xy[1];
  for (int i = 1; i < n; ++i) {
    min_x = std::min(min_x, xy[2 * i]);
    max_x = std::max(max_x, xy[2 * i]);
    min_y = std::min(min_y, xy[2 * i + 1]);
    max_y = std::max(max_y, xy[2 * i + 1]);
  }
  const float inv_cell = static_cast<float>(1.0 / radius);
  const int cells_x = static_cast<int>((max_x - min_x) * inv_cell) + 1;
  const int cells_y = static_cast<int>((max_y - min_y) * inv_cell) + 1;
  auto cell_of = [&](int i, int* cx, int* cy) {
    *cx = std::min(cells_x - 1, static_cast<int>((xy[2 * i] - min_x) * inv_cell));
    *cy = std::min(cells_y - 1, static_cast<int>((xy[2 * i + 1] - min_y) * inv_cell));
  };
  // Particles grouped by cell.
  std::vector<int> cell_index(n);
  for (int i = 0; i < n; ++i) {
    int cx, cy;
    cell_of(i, &cx, &cy);
    cell_index[i] = cy * cells_x + cx;
  }
  const Buckets<int> cells = CountingSort(n, cells_x * cells_y, [&](int i) { return cell_index[i]; });
  const std::vector<int>& start = cells.start;
  const std::vector<int>& sorted = cells.order;

  const float r2 = static_cast<float>(radius * radius);
  edges.senders.reserve(static_cast<size_t>(n) * 16);
  edges.receivers.reserve(static_cast<size_t>(n) * 16);
  for (int r = 0; r < n; ++r) {
    if (!receives[r]) continue;
    int cx, cy;
    cell_of(r, &cx, &cy);
    for (int y = std::max(0, cy - 1); y <= std::min(cells_y - 1, cy + 1); ++y) {
      for (int x = std::max(0, cx - 1); x <= std::min(cells_x - 1, cx + 1); ++x) {
        const int c = y * cells_x + x;
        for (int k = start[c]; k < start[c + 1]; ++k) {
          const int s = sorted[k];
          if (s == r) continue;
          const float dx = xy[2 * s] - xy[2 * r];
          const float dy = xy[2 * s + 1] - xy[2 * r + 1];
          if (dx * dx + dy * dy < r2) {
            edges.senders.push_back(s);
            edges.receivers.push_back(r);
          }
        }
      }
    }
  }
  return edges;
}

}  // namespace flowdesign::simulator::learned
