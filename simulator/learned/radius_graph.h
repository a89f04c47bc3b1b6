// Neighbour search for the particle graph: a cell list (cell = connectivity radius), O(N).
#pragma once

#include <cstdint>
#include <vector>

namespace flowdesign::simulator::learned {

struct EdgeList {
  std::vector<int64_t> senders;
  std::vector<int64_t> receivers;
};

// Directed edges sender -> receiver for every pair closer than `radius`, receivers restricted
// to particles with receives[i] != 0 (fluid: obstacles need no messages), no self edges.
// `xy` holds n interleaved (x, y) positions. The order is deterministic: by receiver index,
// then by sender cell, then by sender index.
EdgeList RadiusGraph(const float* xy, int n, const std::vector<uint8_t>& receives, double radius);

}  // namespace flowdesign::simulator::learned
