// Stable counting sort of item indices by a small integer key, for grouping particles by cell or
// edges by node without comparisons.
#pragma once

#include <cstddef>
#include <vector>

namespace flowdesign::simulator::learned {

// Items 0..count-1 grouped by key_of(i) in [0, buckets): bucket b's items are
// order[start[b]] .. order[start[b + 1] - 1], in increasing item order.
template <typename Index>
struct Buckets {
  std::vector<Index> start, order;
};

template <typename Index, typename KeyOf>
Buckets<Index> CountingSort(Index count, Index buckets, KeyOf key_of) {
  Buckets<Index> result;
  result.start.assign(static_cast<size_t>(buckets) + 1, 0);
  result.order.resize(static_cast<size_t>(count));
  for (Index i = 0; i < count; ++i) ++result.start[key_of(i) + 1];
  for (Index b = 0; b < buckets; ++b) result.start[b + 1] += result.start[b];
  std::vector<Index> cursor(result.start.begin(), result.start.end() - 1);
  for (Index i = 0; i < count; ++i) result.order[cursor[key_of(i)]++] = i;
  return result;
}

}  // namespace flowdesign::simulator::learned
