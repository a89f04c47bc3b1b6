// Row-level pieces shared by the fused edge kernels (edge_kernels.cc) and the dense edge block
// (dense_layer.cc): parallel loops over receiver runs and the AVX2 LayerNorm-residual row.
#pragma once

#include <cstdint>

#include <ATen/Parallel.h>

namespace flowdesign::simulator::learned {

constexpr int64_t kEdgeRowGrain = 256;  // edges per parallel task

inline bool ReceiversAscending(const int64_t* receivers, int64_t edges) {
  for (int64_t i = 1; i < edges; ++i) {
    if (receivers[i] < receivers[i - 1]) return false;
  }
  return true;
}

// With receivers in ascending order (as RadiusGraph makes them), runs body(begin, end) in
// parallel over ranges of edges that never split one receiver's edges: a thread may then add
// into its receivers' rows directly, without races and in edge order.
template <typename F>
void ForReceiverRuns(const int64_t* receivers, int64_t edges, F&& body) {
  at::parallel_for(0, edges, kEdgeRowGrain, [&](int64_t e0, int64_t e1) {
    auto run_start = [&](int64_t i) {
      while (i > 0 && i < edges && receivers[i] == receivers[i - 1]) ++i;
      return i;
    };
    const int64_t begin = run_start(e0), end = run_start(e1);
    if (begin < end) body(begin, end);
  });
}

// One float edge row of a width divisible by 8, on AVX2: normalize row y, write e + u with
// u = normalized * gamma + beta into `next`, add w u into `message`, keep the normalized row
// (when `normalized` is not null); returns 1 / std. Requires CpuHasAvx2Fma().
float NormRowAvx2(const float* __restrict y, const float* __restrict gamma, const float* __restrict beta, float eps,
                  int64_t width, const float* __restrict e, float w, float* __restrict next,
                  float* __restrict message, float* __restrict normalized);

}  // namespace flowdesign::simulator::learned
