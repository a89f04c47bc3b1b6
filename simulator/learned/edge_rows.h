// Row-level pieces shared by the fused edge kernels (edge_kernels.cc) and the dense edge block
// (edge_block.cc): parallel loops over receiver runs, a deterministic scatter of edge rows into
// node rows and the AVX2 LayerNorm-residual row.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/Parallel.h>

#include "simulator/learned/counting_sort.h"

namespace flowdesign::simulator::learned {

constexpr int64_t kEdgeRowGrain = 256;  // edges per parallel task
constexpr int64_t kNodeRowGrain = 32;   // node rows per parallel task

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

// Rows e0..e1-1 of source [edges, columns] added into their receivers' rows of target (rows
// target_stride apart), in edge order: for ranges from ForReceiverRuns, which own those rows.
template <typename T>
void AddRowsToReceivers(const T* source, const int64_t* receivers, int64_t e0, int64_t e1, int64_t columns, T* target,
                        int64_t target_stride) {
  for (int64_t e = e0; e < e1; ++e) {
    const T* __restrict src = source + e * columns;
    T* __restrict dst = target + receivers[e] * target_stride;
    for (int64_t c = 0; c < columns; ++c) dst[c] += src[c];
  }
}

// Row index[e] of target (rows target_stride apart) += row e of source [edges, columns], for
// index values in [0, rows). Each target row sums its edges in edge order (a stable counting sort
// by index), so results do not depend on the number of threads, and threads own whole target
// rows: no races, and every source row is read once (threads owning column blocks instead each
// streamed all edges; for the unsorted senders that was most of a block's backward pass).
template <typename T>
void ScatterAddRows(const T* source, const int64_t* index, int64_t edges, int64_t columns, T* target,
                    int64_t target_stride, int64_t rows) {
  const Buckets<int64_t> by_row = CountingSort(edges, rows, [&](int64_t e) { return index[e]; });
  const std::vector<int64_t>& start = by_row.start;
  const std::vector<int64_t>& order = by_row.order;
  at::parallel_for(0, rows, kNodeRowGrain, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      T* __restrict dst = target + n * target_stride;
      for (int64_t j = start[n]; j < start[n + 1]; ++j) {
        const T* __restrict src = source + order[j] * columns;
        for (int64_t c = 0; c < columns; ++c) dst[c] += src[c];
      }
    }
  });
}

// One float edge row of a width divisible by 8, on AVX2: normalize row y, write e + u with
// u = normalized * gamma + beta into `next`, add w u into `message`, keep the normalized row
// (when `normalized` is not null); returns 1 / std. Requires CpuHasAvx2Fma().
float NormRowAvx2(const float* __restrict y, const float* __restrict gamma, const float* __restrict beta, float eps,
                  int64_t width, const float* __restrict e, float w, float* __restrict next,
                  float* __restrict message, float* __restrict normalized);

// The backward pass of one such row, with d loss / d next and d loss / d message (the receiver's
// aggregate row; either may be null): writes d loss / d y into grad_y, adds du normalized and du
// (du = d loss / d u) into sum_gamma and sum_beta when those are not null, and returns
// d loss / d w. Requires CpuHasAvx2Fma().
float NormRowBackwardAvx2(const float* __restrict normalized, float inverse_std, const float* __restrict gamma,
                          const float* __restrict beta, int64_t width, const float* __restrict grad_next,
                          const float* __restrict grad_message, float w, float* __restrict grad_y,
                          float* __restrict sum_gamma, float* __restrict sum_beta);

}  // namespace flowdesign::simulator::learned
